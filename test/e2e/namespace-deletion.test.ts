// Deleting a namespace with kube-controller-manager running: its namespace controller lists
// and deletes every namespaced resource, ours included. The namespace must finish
// terminating, and the Coder deployment it showed must keep every template and workspace.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { kubectl, mustKubectl } from '../../hack/lib/cluster.ts';
import { startStack, type Stack } from '../../hack/lib/stack.ts';
import { startFakeCoder, type FakeCoder } from '../fakes/coderd/index.ts';
import { eventually } from '../util/eventually.ts';
import { serveNamespace, type Condition } from './control-planes.ts';
import { STACK_TIMEOUT_MS, stopStack } from './stack.ts';

const HOLD = 'e2e.coder.com/hold';
let dir: string;
let stack: Stack;
const fakes: FakeCoder[] = [];

const k = (args: string[]) => kubectl(stack.cluster, args);
const mk = (args: string[]) => mustKubectl(stack.cluster, args);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coder-k8s-e2e-nsdelete-'));
  stack = await startStack({ stateDir: dir, mode: { kind: 'operator' }, namespaces: [] });
}, STACK_TIMEOUT_MS);

afterAll(async () => {
  await stopStack(stack, dir);
  for (const fake of fakes) await fake.close();
}, STACK_TIMEOUT_MS);

/** What Coder holds: live templates and workspaces by id, and how many delete builds ran. */
function coderContent(fake: FakeCoder) {
  return {
    templates: fake.state.templates.filter((t) => !t.deleted).map((t) => t.id).sort(),
    workspaces: fake.state.workspaces.filter((w) => !w.deleted).map((w) => w.id).sort(),
    deleteBuilds: fake.state.builds.filter((b) => b.transition === 'delete').length,
  };
}

async function namespaceConditions(namespace: string): Promise<Record<string, Condition>> {
  const res = await k(['get', 'namespace', namespace, '-o', 'jsonpath={.status.conditions}']);
  const list = res.code === 0 && res.stdout ? (JSON.parse(res.stdout) as (Condition & { type: string })[]) : [];
  return Object.fromEntries(list.map((c) => [c.type, c]));
}

/** Waits until the namespace controller has removed all it can and only `HOLD` keeps the namespace. */
async function heldBack(namespace: string): Promise<Record<string, Condition>> {
  return eventually(`namespace ${namespace} to be held back only by ${HOLD}`, async () => {
    const conditions = await namespaceConditions(namespace);
    return conditions.NamespaceFinalizersRemaining?.status === 'True' ? conditions : undefined;
  }, 60_000);
}

async function gone(namespace: string): Promise<void> {
  await eventually(`namespace ${namespace} to be deleted`, async () => ((await k(['get', 'namespace', namespace])).code !== 0 ? true : undefined), 60_000);
}

async function newServedNamespace(namespace: string): Promise<{ fake: FakeCoder; before: ReturnType<typeof coderContent> }> {
  const fake = await startFakeCoder({ buildTimings: { pendingMs: 20, runningMs: 80 } });
  fakes.push(fake);
  await serveNamespace(stack.cluster, namespace, fake);
  const shown = await mk(['get', 'codertemplates,coderworkspaces', '-n', namespace, '-o', 'name']);
  expect(shown.trim().split('\n').length).toBeGreaterThanOrEqual(4);
  return { fake, before: coderContent(fake) };
}

/**
 * The namespace controller's requests to our API for this namespace: as kube-controller-manager's
 * own user (the upstream default), or as its service account with
 * CODER_K8S_CONTROLLER_MANAGER_ARGS=--use-service-account-credentials=true.
 */
async function namespaceControllerAsked(namespace: string): Promise<string[]> {
  const log = await readFile(stack.product.logFile, 'utf8');
  const path = `/apis/aggregation.coder.com/v1alpha1/namespaces/${namespace}/`;
  const users = ['user="system:kube-controller-manager"', 'user="system:serviceaccount:kube-system:namespace-controller"'];
  return log.split('\n').filter((l) => l.includes(`path="${path}`) && users.some((u) => l.includes(u)));
}

describe('deleting a namespace with kube-controller-manager running', () => {
  it('finishes and leaves Coder alone when nothing holds the namespace', async () => {
    const { fake, before } = await newServedNamespace('del-plain');
    await mk(['delete', 'namespace', 'del-plain', '--wait=false']);
    await gone('del-plain');
    expect(coderContent(fake)).toEqual(before);
    expect(before.templates.length).toBeGreaterThan(0);
    expect(fake.counters.get('DELETE /api/v2/templates/{template}')).toBe(0);
    expect(fake.counters.get('POST /api/v2/workspaces/{workspace}/builds')).toBe(0);
    expect(await namespaceControllerAsked('del-plain')).not.toEqual([]);
  }, 120_000);

  it.each([
    ['the token Secret', 'secret', 'coder-operator', 'del-secret'],
    ['the CoderControlPlane', 'ccp', 'coder', 'del-ccp'],
  ])('shows nothing while %s is held by a finalizer, and deletes nothing in Coder', async (_what, kind, name, namespace) => {
    const { fake, before } = await newServedNamespace(namespace);
    await mk(['patch', kind, name, '-n', namespace, '--type=merge', '-p', JSON.stringify({ metadata: { finalizers: [HOLD] } })]);
    await mk(['delete', 'namespace', namespace, '--wait=false']);
    const conditions = await heldBack(namespace);
    expect(conditions.NamespaceDeletionContentFailure?.status).toBe('False');
    expect(conditions.NamespaceDeletionDiscoveryFailure?.status).toBe('False');
    expect(await k(['get', kind, name, '-n', namespace])).toMatchObject({ code: 0 });
    // The namespace controller listed and deleted our resources while Coder was still reachable.
    const asked = await namespaceControllerAsked(namespace);
    expect(asked.some((l) => l.includes('verb="list"'))).toBe(true);
    expect((await k(['get', 'codertemplates,coderworkspaces', '-n', namespace, '-o', 'name'])).stdout).toBe('');
    const byHand = await k(['delete', 'codertemplate', 'acme.python', '-n', namespace]);
    expect(byHand.code).toBe(0);
    expect(byHand.stderr).toContain('nothing was deleted in Coder');
    await mk(['patch', kind, name, '-n', namespace, '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    await gone(namespace);
    expect(coderContent(fake)).toEqual(before);
    expect(fake.counters.get('DELETE /api/v2/templates/{template}')).toBe(0);
    expect(fake.counters.get('POST /api/v2/workspaces/{workspace}/builds')).toBe(0);
  }, 120_000);

  it('finishes for a namespace that no control plane serves', async () => {
    await mk(['create', 'namespace', 'del-empty']);
    expect((await mk(['get', 'codertemplates', '-n', 'del-empty', '-o', 'name'])).trim()).toBe('');
    await mk(['delete', 'namespace', 'del-empty', '--wait=false']);
    await gone('del-empty');
  }, 120_000);

  it('leaves no errors about aggregation.coder.com in the kube-controller-manager log', async () => {
    const log = await readFile(join(stack.cluster.stateDir, 'kube-controller-manager.log'), 'utf8');
    const errors = log.split('\n').filter((l) => /^E\d{4} /.test(l) && l.includes('aggregation.coder.com'));
    expect(errors).toEqual([]);
  });
});
