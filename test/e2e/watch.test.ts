// WATCH through kube-apiserver with real clients: kubectl get -w, kubectl wait, a
// client-node informer, kube-controller-manager's metadata informers, and two replicas.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { registerAPIService, waitForAPIService } from '../../hack/lib/cluster.ts';
import { terminate } from '../../hack/lib/process.ts';
import { startProduct, type ProductProcess } from '../../hack/lib/stack.ts';
import { eventually } from '../util/eventually.ts';
import { createWorkspaceInCoder } from '../util/out-of-band.ts';
import { NAMESPACE, STACK_TIMEOUT_MS, clusterClient, useE2E } from './stack.ts';

const POLL_SECONDS = 1;
const FLAGS = [`--watch-poll-interval=${POLL_SECONDS}s`];
const e = useE2E({ productFlags: FLAGS });
const WORKSPACES = `/apis/aggregation.coder.com/v1alpha1/namespaces/${NAMESPACE}/coderworkspaces`;
const children: ChildProcess[] = [];
let replicaB: ProductProcess | undefined;
let replicaDir: string | undefined;

afterAll(async () => {
  for (const child of children) child.kill();
  if (replicaB) await terminate(replicaB.pid);
  if (replicaDir) await rm(replicaDir, { recursive: true, force: true });
}, STACK_TIMEOUT_MS);

/** A long-running kubectl whose output lines are collected. */
function kubectlStream(args: string[]): { lines: string[]; exit: Promise<number | null>; stderr: () => string } {
  const child = spawn(e.cluster.kubectl, args, { env: { ...process.env, KUBECONFIG: e.cluster.kubeconfig } });
  children.push(child);
  const lines: string[] = [];
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    const parts = out.split('\n');
    out = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { lines, exit, stderr: () => err };
}

const createInCoder = (owner: string, name: string) => createWorkspaceInCoder(e.fake, owner, name);

/** Raw watch lines through kube-apiserver (kubectl get --raw streams them). */
async function rawWatch(query: string): Promise<{ code: number; events: { type: string; object: any }[]; stderr: string }> {
  const res = await e.kubectl(['get', '--raw', `${WORKSPACES}?watch=true&${query}`]);
  const events = res.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { type: string; object: any });
  return { code: res.code, events, stderr: res.stderr };
}

describe('watch through kube-apiserver', () => {
  it('kubectl get coderworkspaces -A --watch sees a workspace created directly in Coder and its build finishing', async () => {
    const watch = kubectlStream(['get', 'coderworkspaces', '-A', '--watch', '--output-watch-events']);
    await eventually('the initial rows', () => Promise.resolve(watch.lines.some((l) => l.includes('coder.alice.dev')) || undefined), 30_000);
    e.fake.knobs.pauseJobs();
    await createInCoder('alice', 'oob');
    const building = await eventually('ADDED coder.alice.oob', () => Promise.resolve(watch.lines.find((l) => /^ADDED\s+coder\s+coder\.alice\.oob\s/.test(l))), 30_000);
    expect(building).toMatch(/pending|starting/);
    e.fake.knobs.resumeJobs();
    const running = await eventually(
      'the build to finish',
      () => Promise.resolve(watch.lines.find((l) => /^MODIFIED\s+coder\s+coder\.alice\.oob\s.*\srunning\s/.test(l))),
      30_000,
    );
    expect(running).toContain('alice');
    // The header is printed once; every other line is an event.
    expect(watch.lines[0]).toMatch(/^EVENT\s+NAMESPACE\s+NAME\s+OWNER\s+TEMPLATE\s+STATUS/);
    expect(watch.lines.slice(1).every((l) => /^(ADDED|MODIFIED|DELETED)\s/.test(l))).toBe(true);
    expect(watch.stderr()).toBe('');
  }, 90_000);

  it('kubectl wait --for=condition=Ready returns when the build finishes', async () => {
    e.fake.knobs.pauseJobs();
    const manifest = {
      apiVersion: 'aggregation.coder.com/v1alpha1',
      kind: 'CoderWorkspace',
      metadata: { name: 'coder.bob.waiter', namespace: NAMESPACE },
      spec: { organization: 'coder', templateName: 'docker' },
    };
    await e.mustKubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    const wait = kubectlStream(['wait', '--for=condition=Ready', 'coderworkspace/coder.bob.waiter', '-n', NAMESPACE, '--timeout=60s']);
    const before = await e.mustKubectl(['get', 'cws', 'coder.bob.waiter', '-n', NAMESPACE, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    expect(before).toBe('False');
    e.fake.knobs.resumeJobs();
    expect(await wait.exit).toBe(0);
    expect(wait.lines.join('\n')).toContain('condition met');
  }, 90_000);

  it('kube-controller-manager\'s garbage collector and quota controller list and watch metadata only, costing one poll per interval', async () => {
    const log = async () => (await readFile(e.product.logFile, 'utf8')).split('\n');
    const kcm = (l: string) => l.includes('user="system:kube-controller-manager"') && l.includes('resource="coderworkspaces"');
    const watches = await eventually(
      'kube-controller-manager to watch coderworkspaces',
      async () => {
        const lines = (await log()).filter((l) => kcm(l) && l.includes('verb="watch"'));
        return lines.length > 0 ? lines : undefined;
      },
      120_000,
    );
    // client-go's informers start with a watch-list (sendInitialEvents) where the server
    // supports it, and fall back to LIST; either way metadata only, and never an error.
    const asked = (await log()).filter((l) => kcm(l) && /verb="(list|watch)"/.test(l));
    expect(asked.length).toBeGreaterThanOrEqual(watches.length);
    expect(asked.every((l) => l.includes('status=200') && l.includes('form="metadata"'))).toBe(true);
    const errors = (await readFile(join(e.cluster.stateDir, 'kube-controller-manager.log'), 'utf8'))
      .split('\n')
      .filter((l) => /^E\d{4} /.test(l) && l.includes('aggregation.coder.com'));
    expect(errors).toEqual([]);
    // Their watches share the namespace's one event source: over a window, Coder sees at
    // most one read per resource per poll interval (±20 % jitter).
    const reads = () => e.fake.counters.get('GET /api/v2/workspaces');
    const before = reads();
    const started = Date.now();
    await eventually('a 10 s window', () => Promise.resolve(Date.now() - started >= 10_000 || undefined), 20_000);
    const seconds = (Date.now() - started) / 1000;
    expect(reads() - before).toBeLessThanOrEqual(Math.ceil(seconds / (0.8 * POLL_SECONDS)) + 1);
    expect(reads() - before).toBeGreaterThanOrEqual(1);
  }, 180_000);
});

describe('a client-node informer and two replicas', () => {
  it('syncs, survives a forced 410 by re-listing, converges after a burst of 200 changes; a resumed watch on another replica gets 410, on the same one continues', async () => {
    const { makeInformer } = await import('@kubernetes/client-node');
    const { kc, api } = await clusterClient(e.cluster.kubeconfig);
    let lists = 0;
    const listFn = () => {
      lists++;
      return api.listNamespacedCustomObject({ group: 'aggregation.coder.com', version: 'v1alpha1', namespace: NAMESPACE, plural: 'coderworkspaces' }) as never;
    };
    const informer = makeInformer<KubernetesObject>(kc, WORKSPACES, listFn);
    const errors: unknown[] = [];
    informer.on('error', (err: unknown) => {
      errors.push(err);
      // What applications do: start again after a pause (the informer keeps its resourceVersion).
      setTimeout(() => void informer.start().catch(() => undefined), 500);
    });
    await informer.start();
    const names = () => informer.list().map((o) => o.metadata?.name ?? '').sort();
    const listed = async () => {
      const out = JSON.parse(await e.mustKubectl(['get', 'coderworkspaces', '-n', NAMESPACE, '-o', 'json'])) as { items: KubernetesObject[] };
      return out.items.map((o) => `${o.metadata?.name ?? ''} ${o.metadata?.resourceVersion ?? ''}`).sort();
    };
    const state = () => informer.list().map((o) => `${o.metadata?.name ?? ''} ${o.metadata?.resourceVersion ?? ''}`).sort();
    await eventually('the informer to sync', () => Promise.resolve(names().includes('coder.alice.dev') || undefined), 30_000);

    // A version from replica A resumes on A; on replica B it is foreign: 410, never a gap.
    const rvA = JSON.parse(await e.mustKubectl(['get', '--raw', WORKSPACES])).metadata.resourceVersion as string;
    replicaDir = await mkdtemp(join(tmpdir(), 'coder-k8s-replica-b-'));
    replicaB = await startProduct({
      stateDir: replicaDir,
      cluster: e.cluster,
      mode: { kind: 'static', coderUrl: e.fake.url, coderTokenFile: join(e.dir, 'coder-token'), namespace: NAMESPACE },
      extraFlags: FLAGS,
    });
    await createInCoder('bob', 'while-switching');
    await registerAPIService(e.cluster, replicaB.securePort, join(replicaB.certDir, 'ca.crt'));
    await waitForAPIService(e.cluster);
    const onB = await eventually(
      'replica B to answer',
      async () => {
        const res = await rawWatch(`resourceVersion=${rvA}&timeoutSeconds=5`);
        return res.code !== 0 && /Expired|410|not issued by this server/.test(res.stderr) ? res : undefined;
      },
      60_000,
    );
    expect(onB.events).toEqual([]);
    await registerAPIService(e.cluster, e.product.securePort, join(e.product.certDir, 'ca.crt'));
    await waitForAPIService(e.cluster);
    const onA = await eventually(
      'replica A to answer again',
      async () => {
        const res = await rawWatch(`resourceVersion=${rvA}&timeoutSeconds=3`);
        return res.code === 0 ? res : undefined;
      },
      60_000,
    );
    expect(onA.events.map((ev) => `${ev.type} ${ev.object.metadata.name as string}`)).toContain('ADDED coder.bob.while-switching');

    // Replica A goes away while the informer watches through it; requests now reach B.
    await registerAPIService(e.cluster, replicaB.securePort, join(replicaB.certDir, 'ca.crt'));
    await waitForAPIService(e.cluster);
    const listsBefore = lists;
    await terminate(e.product.pid);
    await eventually('the informer to re-list from replica B', () => Promise.resolve(lists > listsBefore || undefined), 60_000);

    // A burst of 200 changes made in Coder: the informer converges to exactly what a fresh LIST shows.
    for (let i = 0; i < 100; i++) await createInCoder(i % 2 ? 'alice' : 'bob', `burst-${i}`);
    const now = new Date(Date.now() + 3_600_000).toISOString();
    let touched = 0;
    for (const w of e.fake.state.workspaces.list()) {
      if (touched++ < 100) w.last_used_at = now;
    }
    await eventually(
      'the informer to converge to a fresh list',
      async () => {
        const [mine, theirs] = [state(), await listed()];
        return mine.length >= 100 && JSON.stringify(mine) === JSON.stringify(theirs) ? mine : undefined;
      },
      60_000,
    );
    expect(names().filter((n) => n.includes('.burst-'))).toHaveLength(100);
    await informer.stop();
  }, 300_000);
});
