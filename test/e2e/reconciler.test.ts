import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { kubectl, mustKubectl } from '../../hack/lib/cluster.ts';
import { startStack, type Stack } from '../../hack/lib/stack.ts';
import { eventually } from '../util/eventually.ts';
import { STACK_TIMEOUT_MS, stopStack } from './stack.ts';

let dir: string;
let stack: Stack;
const k = (args: string[], input?: string) => kubectl(stack.cluster, args, input === undefined ? {} : { input });
const mk = (args: string[], input?: string) => mustKubectl(stack.cluster, args, input === undefined ? {} : { input });
const json = async (args: string[]) => JSON.parse(await mk([...args, '-o', 'json'])) as Record<string, any>;
const exists = async (args: string[]) => (await k(args)).code === 0;

function controlPlane(spec: Record<string, unknown>) {
  return stringify({ apiVersion: 'coder.com/v1alpha1', kind: 'CoderControlPlane', metadata: { name: 'coder', namespace: 'apps' }, spec });
}

const SPEC = {
  replicas: 2,
  extraArgs: ['--verbose'],
  rbac: { workspaceNamespaces: ['ws-extra'] },
  expose: { ingress: { host: 'coder.example.com', className: 'nginx' } },
  operatorAccess: { tokenSecretRef: { name: 'not-there-yet' } },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coder-k8s-e2e-reconciler-'));
  stack = await startStack({ stateDir: dir, mode: { kind: 'operator' }, namespaces: ['apps', 'ws-extra'] });
  await mk(['apply', '-f', '-'], controlPlane(SPEC));
}, STACK_TIMEOUT_MS);

afterAll(async () => {
  await stopStack(stack, dir);
}, STACK_TIMEOUT_MS);

describe('an in-cluster CoderControlPlane', () => {
  it('gets a Deployment, Service, ServiceAccount and Ingress owned by it', async () => {
    const ccp = await eventually('the finalizer', async () => {
      const c = await json(['get', 'ccp', 'coder', '-n', 'apps']);
      return c.metadata.finalizers?.includes('coder.com/workspace-rbac') ? c : undefined;
    }, 30_000);
    const deployment = await eventually('the Deployment', async () => ((await exists(['get', 'deployment', 'coder', '-n', 'apps'])) ? json(['get', 'deployment', 'coder', '-n', 'apps']) : undefined), 30_000);
    expect(deployment.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'CoderControlPlane', name: 'coder', uid: ccp.metadata.uid, controller: true }),
    ]);
    expect(deployment.spec.replicas).toBe(2);
    const container = deployment.spec.template.spec.containers[0];
    expect(container).toMatchObject({
      name: 'coder',
      image: 'ghcr.io/coder/coder:latest',
      args: ['--http-address=0.0.0.0:8080', '--verbose'],
      ports: [expect.objectContaining({ name: 'http', containerPort: 8080 })],
      readinessProbe: expect.objectContaining({ httpGet: expect.objectContaining({ path: '/healthz' }) }),
    });
    expect(container.livenessProbe).toBeUndefined();
    expect(container.env).toEqual([{ name: 'CODER_ACCESS_URL', value: 'http://coder.apps.svc.cluster.local' }]);
    expect(deployment.spec.template.spec.serviceAccountName).toBe('coder');
    const svc = await json(['get', 'service', 'coder', '-n', 'apps']);
    expect(svc.spec).toMatchObject({ type: 'ClusterIP', ports: [expect.objectContaining({ port: 80, targetPort: 'http' })] });
    expect(await exists(['get', 'serviceaccount', 'coder', '-n', 'apps'])).toBe(true);
    const ingress = await json(['get', 'ingress', 'coder', '-n', 'apps']);
    expect(ingress.spec.rules[0].host).toBe('coder.example.com');
  });

  it('grants workspace rights in its namespace and the listed ones', async () => {
    for (const ns of ['apps', 'ws-extra']) {
      const role = await eventually(`the Role in ${ns}`, async () => ((await exists(['get', 'role', 'coder-workspace-perms', '-n', ns])) ? json(['get', 'role', 'coder-workspace-perms', '-n', ns]) : undefined), 30_000);
      expect(role.rules.map((r: { resources: string[] }) => r.resources).flat()).toEqual(expect.arrayContaining(['pods', 'persistentvolumeclaims', 'deployments']));
      const binding = await json(['get', 'rolebinding', 'coder-workspace-perms', '-n', ns]);
      expect(binding.subjects).toEqual([expect.objectContaining({ kind: 'ServiceAccount', name: 'coder', namespace: 'apps' })]);
      // Owner references only within the control plane's namespace.
      expect(role.metadata.ownerReferences?.length ?? 0).toBe(ns === 'apps' ? 1 : 0);
    }
  });

  it('reports readiness from the Deployment status, which kube-controller-manager keeps', async () => {
    // kube-controller-manager's Deployment and ReplicaSet controllers create the Pods; with no
    // scheduler or kubelet they stay Pending, so the control plane is not ready yet.
    const pods = await eventually('two Pods from the ReplicaSet', async () => {
      const list = await json(['get', 'pods', '-n', 'apps', '-l', 'app.kubernetes.io/name=coder']);
      return list.items.length === 2 ? (list.items as { metadata: { name: string } }[]) : undefined;
    }, 60_000);
    const pending = await eventually('a Pending status', async () => {
      const c = await json(['get', 'ccp', 'coder', '-n', 'apps']);
      return c.status?.phase === 'Pending' && c.status.conditions?.length ? c : undefined;
    }, 30_000);
    const ready = pending.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'DeploymentNotReady' });
    expect(pending.status.url).toBe('http://coder.apps.svc.cluster.local');

    // The test plays the kubelet: the Pods report Ready, the controllers count them.
    const now = new Date().toISOString();
    const running = JSON.stringify({
      status: {
        phase: 'Running',
        conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
      },
    });
    for (const pod of pods) await mk(['patch', 'pod', pod.metadata.name, '-n', 'apps', '--subresource=status', '--type=merge', '-p', running]);
    const after = await eventually('readyReplicas to be reported', async () => {
      const c = await json(['get', 'ccp', 'coder', '-n', 'apps']);
      return c.status?.readyReplicas === 2 ? c : undefined;
    }, 60_000);
    const access = after.status.conditions.find((c: { type: string }) => c.type === 'OperatorAccessReady');
    expect(access).toMatchObject({ status: 'False', reason: 'TokenSecretNotFound' });
    expect(after.status.conditions.find((c: { type: string }) => c.type === 'Eligible')).toMatchObject({ status: 'False' });
  });

  it('converges changes and removes RBAC from namespaces no longer listed', async () => {
    await mk(['patch', 'ccp', 'coder', '-n', 'apps', '--type=merge', '-p', '{"spec":{"replicas":3,"rbac":{"workspaceNamespaces":[]}}}']);
    await eventually('replicas 3', async () => ((await json(['get', 'deployment', 'coder', '-n', 'apps'])).spec.replicas === 3 ? true : undefined), 30_000);
    await eventually('the ws-extra Role to go', async () => ((await exists(['get', 'role', 'coder-workspace-perms', '-n', 'ws-extra'])) ? undefined : true), 30_000);
    expect(await exists(['get', 'role', 'coder-workspace-perms', '-n', 'apps'])).toBe(true);
  });

  it('reports a Gateway API exposure it cannot create', async () => {
    await mk(['patch', 'ccp', 'coder', '-n', 'apps', '--type=json', '-p', JSON.stringify([
      { op: 'remove', path: '/spec/expose/ingress' },
      { op: 'add', path: '/spec/expose/gateway', value: { host: 'coder.example.com', parentRefs: [{ name: 'gw' }] } },
    ])]);
    const ready = await eventually('ExposureFailed', async () => {
      const c = await json(['get', 'ccp', 'coder', '-n', 'apps']);
      const r = c.status?.conditions?.find((x: { type: string }) => x.type === 'Ready');
      return r?.reason === 'ExposureFailed' ? r : undefined;
    }, 30_000);
    expect(ready.message).toContain('HTTPRoute');
  });

  it('cleans up workspace RBAC in other namespaces when deleted (finalizer)', async () => {
    await mk(['patch', 'ccp', 'coder', '-n', 'apps', '--type=merge', '-p', '{"spec":{"rbac":{"workspaceNamespaces":["ws-extra"]}}}']);
    await eventually('the ws-extra Role', async () => ((await exists(['get', 'role', 'coder-workspace-perms', '-n', 'ws-extra'])) ? true : undefined), 30_000);
    await mk(['delete', 'ccp', 'coder', '-n', 'apps', '--timeout=60s']);
    expect(await exists(['get', 'ccp', 'coder', '-n', 'apps'])).toBe(false);
    expect(await exists(['get', 'role', 'coder-workspace-perms', '-n', 'ws-extra'])).toBe(false);
    expect(await exists(['get', 'rolebinding', 'coder-workspace-perms', '-n', 'ws-extra'])).toBe(false);
  });
});
