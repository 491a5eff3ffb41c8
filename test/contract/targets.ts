// The two Coders the contract suite compares: the fake (test/fakes/coderd) and a real coderd
// v2.30.0 (AGPL, hack/lib/real-coder.ts). Each scenario runs against both with the same
// requests; assertions state what the real one does, so the fake must do the same.
import { startRealCoder } from '../../hack/lib/real-coder.ts';
import { CoderClient } from '../../pkg/coder/client.ts';
import type { Seed } from '../fakes/coderd/index.ts';
import { startFakeCoder } from '../fakes/coderd/index.ts';
import type { FakeCoder } from '../fakes/coderd/index.ts';
import { Api } from '../fakes/coderd/testutil.ts';

export const TARGETS = ['fake', 'real'] as const;
export type TargetName = (typeof TARGETS)[number];

export interface Target {
  name: TargetName;
  url: string;
  /** An owner's API token. */
  token: string;
  /** What Coder build answers: the real one is AGPL (the enterprise binary cannot be built offline). */
  edition: 'agpl' | 'enterprise';
  /** Raw HTTP as the owner (Coder-Session-Token header), for wire-level comparisons. */
  api: Api;
  /** The product's client, for the endpoints coder-k8s calls. */
  client: CoderClient;
  /** The fake's handle (knobs, state) when name is 'fake'. */
  fake?: FakeCoder;
  stop: () => Promise<void>;
}

export interface TargetOptions {
  /** Concurrent builds before jobs queue (default 3, as a real Coder's; the fake alone would not queue). */
  provisionerDaemons?: number;
}

/** The owner startRealCoder creates (hack/lib/real-coder.ts), as a fake seed: a fresh Coder has one org and one user. */
export function freshSeed(): Seed {
  return {
    adminUser: 'admin',
    orgs: [{ name: 'coder', display_name: 'Coder', description: 'Builtin default organization.', default: true }],
    users: [{ username: 'admin', email: 'admin@coder-k8s.test', name: 'Admin', password: 'SomeSecurePassword!', roles: ['owner'], orgs: ['coder'] }],
    templates: [],
    workspaces: [],
  };
}

/** Starts one Coder of the named kind (a real one takes ≈ 3 s; its binaries come from `hack/tools.sh ensure coder terraform`). */
export async function startTarget(name: TargetName, o: TargetOptions = {}): Promise<Target> {
  const daemons = o.provisionerDaemons ?? 3;
  let url: string;
  let token: string;
  let fake: FakeCoder | undefined;
  let stopCoder: () => Promise<void>;
  if (name === 'fake') {
    fake = await startFakeCoder({ seed: freshSeed(), edition: 'agpl', provisionerDaemons: daemons });
    ({ url, adminToken: token } = fake);
    stopCoder = fake.close.bind(fake);
  } else {
    const real = await startRealCoder({ provisionerDaemons: daemons });
    ({ url, token } = real);
    stopCoder = real.stop;
  }
  const client = new CoderClient({ url, token, timeoutMs: 15_000 });
  return {
    name,
    url,
    token,
    edition: 'agpl',
    api: new Api(url, token),
    client,
    ...(fake ? { fake } : {}),
    stop: async () => {
      await client.close();
      await stopCoder();
    },
  };
}
