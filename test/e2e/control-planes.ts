// CoderControlPlanes in an e2e stack: one external control plane per namespace, pointing at
// a fake Coder, and its Eligible condition.
import { stringify } from 'yaml';
import { kubectl, mustKubectl, type ClusterEnv } from '../../hack/lib/cluster.ts';
import type { FakeCoder } from '../fakes/coderd/index.ts';
import { eventually } from '../util/eventually.ts';

export interface Condition {
  status: string;
  reason: string;
  message: string;
}

/** A CoderControlPlane for an existing Coder (the fake), with its token in Secret coder-operator. */
export function controlPlane(namespace: string, name: string, fake: FakeCoder, extra: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'coder.com/v1alpha1',
    kind: 'CoderControlPlane',
    metadata: { name, namespace },
    spec: { external: { url: fake.url }, operatorAccess: { tokenSecretRef: { name: 'coder-operator' } }, ...extra },
  });
}

export async function eligible(cluster: ClusterEnv, namespace: string, name: string): Promise<Condition | undefined> {
  const res = await kubectl(cluster, ['get', 'ccp', name, '-n', namespace, '-o', 'jsonpath={.status.conditions[?(@.type=="Eligible")]}']);
  return res.code === 0 && res.stdout ? (JSON.parse(res.stdout) as Condition) : undefined;
}

/** Namespace, token Secret and CoderControlPlane "coder"; returns once the namespace is served. */
export async function serveNamespace(cluster: ClusterEnv, namespace: string, fake: FakeCoder): Promise<void> {
  await mustKubectl(cluster, ['create', 'namespace', namespace]);
  await mustKubectl(cluster, ['create', 'secret', 'generic', 'coder-operator', '-n', namespace, `--from-literal=token=${fake.adminToken}`]);
  await mustKubectl(cluster, ['apply', '-f', '-'], { input: controlPlane(namespace, 'coder', fake) });
  await eventually(`${namespace} to become eligible`, async () => ((await eligible(cluster, namespace, 'coder'))?.status === 'True' ? true : undefined), 60_000);
}
