// The product through kube-apiserver against a real coderd v2.30.0 (AGPL, with Terraform and
// PostgreSQL; hack/lib/real-coder.ts), beside a fake Coder in another namespace: the kubectl
// flows, the operator's REST bootstrap of a fresh Coder, and a watch seeing changes made in
// Coder directly.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { stringify } from 'yaml';
import { kubectl, mustKubectl } from '../../hack/lib/cluster.ts';
import { startRealCoder, type RealCoder } from '../../hack/lib/real-coder.ts';
import { startStack, type Stack } from '../../hack/lib/stack.ts';
import { startFakeCoder, type FakeCoder } from '../fakes/coderd/index.ts';
import { eventually } from '../util/eventually.ts';
import { coderCall } from '../util/out-of-band.ts';
import { eligible as eligibleIn, serveNamespace } from './control-planes.ts';
import { STACK_TIMEOUT_MS, clusterClient, stopStack } from './stack.ts';

// Real Terraform builds on a shared 2-core machine: each test gets more than the global 60 s.
jest.setTimeout(180_000);

const REAL = 'real';
const FAKE = 'beside';
let dir: string;
let stack: Stack;
let real: RealCoder | undefined;
let fake: FakeCoder | undefined;
/** The operator's token for the real Coder, read from the Secret bootstrap wrote. */
let token = '';

const k = (args: string[], input?: string) => kubectl(stack.cluster, args, input === undefined ? {} : { input });
const mk = (args: string[], input?: string) => mustKubectl(stack.cluster, args, input === undefined ? {} : { input });
const inReal = <R>(method: string, path: string, body?: unknown) => coderCall<R>({ url: real?.url ?? '', adminToken: token }, method, path, body);

function template(name: string, mainTf: string): string {
  return stringify({
    apiVersion: 'aggregation.coder.com/v1alpha1',
    kind: 'CoderTemplate',
    metadata: { name: `coder.${name}`, namespace: REAL },
    spec: { organization: 'coder', displayName: `Real ${name}`, files: { 'main.tf': mainTf } },
  });
}

/** Terraform that needs no provider download (no registry here): a built-in resource. */
const VALID_TF = 'resource "terraform_data" "e2e" {}\n';

function workspace(name: string, templateName: string, running?: boolean): string {
  return stringify({
    apiVersion: 'aggregation.coder.com/v1alpha1',
    kind: 'CoderWorkspace',
    metadata: { name: `coder.admin.${name}`, namespace: REAL },
    spec: { organization: 'coder', templateName, ...(running === undefined ? {} : { running }) },
  });
}

/** A template of organization coder, as Coder has it. */
async function templateId(name: string): Promise<string> {
  const org = await inReal<{ id: string }>('GET', '/api/v2/organizations/coder');
  return (await inReal<{ id: string }>('GET', `/api/v2/organizations/${org.id}/templates/${name}`)).id;
}

async function versionsOf(name: string): Promise<number> {
  return (await inReal<unknown[]>('GET', `/api/v2/templates/${await templateId(name)}/versions`)).length;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coder-k8s-e2e-real-'));
  // A fresh Coder: the operator creates its first user and its own token over REST.
  real = await startRealCoder({ firstUser: false });
  fake = await startFakeCoder({ buildTimings: { pendingMs: 20, runningMs: 80 } });
  stack = await startStack({ stateDir: dir, mode: { kind: 'operator' }, namespaces: [REAL] });
  await mk(['apply', '-f', '-'], stringify({
    apiVersion: 'coder.com/v1alpha1',
    kind: 'CoderControlPlane',
    metadata: { name: 'coder', namespace: REAL },
    spec: { external: { url: real.url } },
  }));
  await serveNamespace(stack.cluster, FAKE, fake);
  await eventually('the real Coder to be bootstrapped and eligible', async () => ((await eligibleIn(stack.cluster, REAL, 'coder'))?.status === 'True' ? true : undefined), 90_000);
  token = Buffer.from(await mk(['get', 'secret', 'coder-operator-token', '-n', REAL, '-o', 'jsonpath={.data.token}']), 'base64').toString();
}, STACK_TIMEOUT_MS);

afterAll(async () => {
  await stopStack(stack, dir);
  await fake?.close();
  await real?.stop();
}, STACK_TIMEOUT_MS);

describe('a real Coder (v2.30.0, AGPL) behind kube-apiserver', () => {
  it('was bootstrapped over REST, and says plainly that this Coder has no licensing', async () => {
    const status = JSON.parse(await mk(['get', 'ccp', 'coder', '-n', REAL, '-o', 'jsonpath={.status}'])) as Record<string, any>;
    const condition = (type: string) => status.conditions.find((c: { type: string }) => c.type === type);
    expect(condition('OperatorAccessReady')).toMatchObject({ status: 'True', reason: 'Bootstrapped' });
    expect(condition('LicenseApplied')).toMatchObject({ status: 'False', reason: 'LicensingNotSupported' });
    expect(condition('LicenseApplied').message).toContain('has no licensing');
    expect(status).toMatchObject({ licenseTier: 'none', operatorTokenSecretRef: { name: 'coder-operator-token', key: 'token' } });
    const users = await inReal<{ users: { username: string; roles: { name: string }[] }[] }>('GET', '/api/v2/users');
    expect(users.users.map((u) => u.username).sort()).toEqual(['admin', 'coder-k8s-operator']);
    expect(await mk(['get', 'secret', 'coder-admin-credentials', '-n', REAL, '-o', 'jsonpath={.data.password}'])).not.toBe('');
  });

  it('creates a template from files, and a second apply of the same files publishes nothing', async () => {
    expect(await mk(['apply', '-f', '-'], template('e2e', VALID_TF))).toContain('codertemplate.aggregation.coder.com/coder.e2e created');
    const got = JSON.parse(await mk(['get', 'ctpl', 'coder.e2e', '-n', REAL, '-o', 'json'])) as Record<string, any>;
    expect(got.status.activeVersionBuild).toMatchObject({ status: 'succeeded' });
    expect(got.spec.files).toEqual({ 'main.tf': VALID_TF });
    expect(await versionsOf('e2e')).toBe(1);
    // "configured" too: annotations are not stored, so kubectl re-sends its last-applied one.
    expect(await mk(['apply', '-f', '-'], template('e2e', VALID_TF))).toMatch(/coder\.e2e (configured|unchanged)/);
    expect(await versionsOf('e2e')).toBe(1);
  });

  it('publishes changed files with server-side apply', async () => {
    const changed = `${VALID_TF}resource "terraform_data" "second" {}\n`;
    const out = await mk(['apply', '--server-side', '--field-manager=e2e', '-f', '-'], template('e2e', changed));
    expect(out).toContain('serverside-applied');
    expect(await versionsOf('e2e')).toBe(2);
    const files = JSON.parse(await mk(['get', 'ctpl', 'coder.e2e', '-n', REAL, '-o', 'jsonpath={.spec.files}'])) as Record<string, string>;
    expect(files['main.tf']).toBe(changed);
  });

  it("refuses a template whose Terraform does not parse, quoting Terraform's diagnostic from the build log", async () => {
    const res = await k(['apply', '-f', '-'], template('broken', 'resource "terraform_data" "x" {\n'));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('BadRequest');
    expect(res.stderr).toContain('template import init error: initialize terraform: exit status 1');
    expect(res.stderr).toContain('Error: Unclosed configuration block');
    expect(res.stderr).toContain('on main.tf line 1');
    expect((await k(['get', 'ctpl', 'coder.broken', '-n', REAL])).code).not.toBe(0);
  });

  it('creates, stops, starts and deletes a workspace', async () => {
    expect(await mk(['apply', '-f', '-'], workspace('ws1', 'e2e'))).toContain('coderworkspace.aggregation.coder.com/coder.admin.ws1 created');
    const running = async (want: boolean) =>
      eventually(`ws1 running=${String(want)}`, async () => {
        const status = JSON.parse(await mk(['get', 'cws', 'coder.admin.ws1', '-n', REAL, '-o', 'jsonpath={.status}'])) as Record<string, any>;
        return status.latestBuildStatus === (want ? 'running' : 'stopped') ? status : undefined;
      }, 60_000);
    await running(true);
    await mk(['patch', 'cws', 'coder.admin.ws1', '-n', REAL, '--type=merge', '-p', '{"spec":{"running":false}}']);
    await running(false);
    await mk(['patch', 'cws', 'coder.admin.ws1', '-n', REAL, '--type=merge', '-p', '{"spec":{"running":true}}']);
    await running(true);
    await mk(['delete', 'cws', 'coder.admin.ws1', '-n', REAL, '--wait=false']);
    await eventually('ws1 to be gone', async () => ((await k(['get', 'cws', 'coder.admin.ws1', '-n', REAL])).code !== 0 ? true : undefined), 60_000);
    const inCoder = await inReal<{ count: number }>('GET', '/api/v2/workspaces?q=name:ws1');
    expect(inCoder.count).toBe(0);
  });

  it('lists across namespaces: the real Coder beside a fake one', async () => {
    const out = await mk(['get', 'ctpl', '-A', '--no-headers', '-o', 'custom-columns=NS:.metadata.namespace,NAME:.metadata.name']);
    const rows = out.trim().split('\n').map((l) => l.split(/\s+/).join('/'));
    expect(rows).toEqual(expect.arrayContaining([`${REAL}/coder.e2e`, `${FAKE}/coder.docker`]));
  });

  it('a watch sees a workspace created in Coder directly', async () => {
    const { kc } = await clusterClient(stack.cluster.kubeconfig);
    const { Watch } = await import('@kubernetes/client-node');
    const seen: string[] = [];
    const listed = JSON.parse(await mk(['get', 'cws', '-n', REAL, '-o', 'json'])) as { metadata: { resourceVersion: string } };
    const request = await new Watch(kc).watch(
      `/apis/aggregation.coder.com/v1alpha1/namespaces/${REAL}/coderworkspaces`,
      { resourceVersion: listed.metadata.resourceVersion },
      (type: string, object: { metadata: { name: string } }) => seen.push(`${type} ${object.metadata.name}`),
      () => undefined,
    );
    try {
      await inReal('POST', '/api/v2/users/admin/workspaces', { name: 'direct', template_id: await templateId('e2e') });
      await eventually('the watch to see coder.admin.direct', () => Promise.resolve(seen.includes('ADDED coder.admin.direct') ? true : undefined), 60_000);
    } finally {
      request.abort();
    }
  });
});
