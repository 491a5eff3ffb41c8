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
  }, 180_000);

  it('puts back an owned object that was deleted or edited at once, not at the 5-minute resync', async () => {
    // The control plane is quiet: its token Secret is missing (checked again in 5 minutes)
    // and its Deployment settled. Only the watch on owned objects can bring these back soon.
    const uid = async (args: string[]) => (await mk([...args, '-o', 'jsonpath={.metadata.uid}'])).trim();
    const service = await uid(['get', 'service', 'coder', '-n', 'apps']);
    let started = Date.now();
    await mk(['delete', 'service', 'coder', '-n', 'apps', '--wait=true']);
    await eventually('the Service to be created again', async () => {
      const res = await k(['get', 'service', 'coder', '-n', 'apps', '-o', 'jsonpath={.metadata.uid}']);
      return res.code === 0 && res.stdout.trim() && res.stdout.trim() !== service ? true : undefined;
    }, 30_000);
    const serviceMs = Date.now() - started;

    // A binding in another namespace (no owner reference there): its subjects edited, then deleted.
    started = Date.now();
    await mk(['patch', 'rolebinding', 'coder-workspace-perms', '-n', 'ws-extra', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/subjects/0/name', value: 'intruder' }])]);
    await eventually('the RoleBinding subjects to be restored', async () => {
      const b = await json(['get', 'rolebinding', 'coder-workspace-perms', '-n', 'ws-extra']);
      return b.subjects?.[0]?.name === 'coder' ? true : undefined;
    }, 30_000);
    const bindingMs = Date.now() - started;
    started = Date.now();
    await mk(['delete', 'role', 'coder-workspace-perms', '-n', 'ws-extra', '--wait=true']);
    await eventually('the Role to be created again', async () => ((await exists(['get', 'role', 'coder-workspace-perms', '-n', 'ws-extra'])) ? true : undefined), 30_000);
    const roleMs = Date.now() - started;
    console.log(`drift corrected: Service deleted ${serviceMs} ms, RoleBinding edited ${bindingMs} ms, Role deleted ${roleMs} ms`);
  });

  it('records Events on the CoderControlPlane for the steps that happened, and folds a repeat into a series', async () => {
    const events = async () =>
      (await json(['get', 'events', '-n', 'apps', '--field-selector', 'involvedObject.kind=CoderControlPlane,involvedObject.name=coder'])).items as Record<string, any>[];
    const deployed = (await eventually('a Deployed event', async () => {
      const found = (await events()).find((e) => e.reason === 'Deployed');
      return found;
    }, 30_000));
    expect(deployed).toMatchObject({
      type: 'Normal',
      action: 'Apply',
      reportingComponent: 'coder-k8s',
      reportingInstance: expect.stringMatching(new RegExp(`_${stack.product.pid}$`)),
      involvedObject: { apiVersion: 'coder.com/v1alpha1', kind: 'CoderControlPlane', namespace: 'apps', name: 'coder' },
    });
    expect(deployed.message).toContain('Deployment "coder"');
    expect(deployed.message).toContain('workspace Role and RoleBinding in apps, ws-extra');
    // As people look at them.
    const table = await mk(['events', '-n', 'apps', '--for', 'codercontrolplane/coder']);
    expect(table).toMatch(/Normal\s+Deployed\s+CoderControlPlane\/coder/);
    // A write that lost a race with the informer cache (409) is retried, not reported.
    expect((await events()).filter((e) => e.reason === 'ReconcileError')).toEqual([]);
    const missing = (await events()).find((e) => e.reason === 'TokenSecretNotFound');
    expect(missing).toMatchObject({ type: 'Warning', message: 'Secret "not-there-yet" does not exist' });
    expect(missing?.series).toBeUndefined();
    // Nothing was deployed again for the drift above: one Deployed event for generation 1.
    expect((await events()).filter((e) => e.reason === 'Deployed')).toHaveLength(1);

    // Secrets named in the spec are not watched: an annotation asks for a pass.
    const access = async () => {
      const c = await json(['get', 'ccp', 'coder', '-n', 'apps']);
      return c.status?.conditions?.find((x: { type: string }) => x.type === 'OperatorAccessReady')?.reason as string | undefined;
    };
    await mk(['create', 'secret', 'generic', 'not-there-yet', '-n', 'apps', '--from-literal=other=x']);
    await mk(['annotate', 'ccp', 'coder', '-n', 'apps', 'reconcile=1', '--overwrite']);
    await eventually('TokenEmpty', async () => ((await access()) === 'TokenEmpty' ? true : undefined), 30_000);
    await mk(['delete', 'secret', 'not-there-yet', '-n', 'apps']);
    await mk(['annotate', 'ccp', 'coder', '-n', 'apps', 'reconcile=2', '--overwrite']);
    await eventually('TokenSecretNotFound again', async () => ((await access()) === 'TokenSecretNotFound' ? true : undefined), 30_000);
    const repeated = await eventually('the repeat counted in a series', async () => {
      const found = (await events()).filter((e) => e.reason === 'TokenSecretNotFound');
      return found.length === 1 && found[0]?.series?.count === 2 ? found[0] : undefined;
    }, 30_000);
    expect(repeated.series.lastObservedTime).toEqual(expect.any(String));
    expect((await events()).find((e) => e.reason === 'TokenEmpty')).toMatchObject({ type: 'Warning' });
  });

  it('converges changes and removes RBAC from namespaces no longer listed', async () => {
    await mk(['patch', 'ccp', 'coder', '-n', 'apps', '--type=merge', '-p', '{"spec":{"replicas":3,"rbac":{"workspaceNamespaces":[]}}}']);
    await eventually('replicas 3', async () => ((await json(['get', 'deployment', 'coder', '-n', 'apps'])).spec.replicas === 3 ? true : undefined), 30_000);
    await eventually('a Deployed event for generation 2', async () => {
      const list = await json(['get', 'events', '-n', 'apps', '--field-selector', 'involvedObject.kind=CoderControlPlane,involvedObject.name=coder,reason=Deployed']);
      return list.items.some((e: { message: string }) => e.message.includes('(generation 2)')) ? true : undefined;
    }, 30_000);
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
