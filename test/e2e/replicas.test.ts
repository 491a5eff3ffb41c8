// Two and three replicas of coder-k8s --app=all behind one APIService: a rolling restart under
// GET/LIST/WATCH load through kube-apiserver, the leader Lease handed over on SIGTERM, and a
// frozen leader (SIGSTOP) replaced once its lease expires, without the old one's API server dying.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { kubectl, mustKubectl, registerAPIService, waitForAPIService } from '../../hack/lib/cluster.ts';
import { terminate } from '../../hack/lib/process.ts';
import { startProduct, startStack, type ProductProcess, type Stack } from '../../hack/lib/stack.ts';
import { startFakeCoder, type FakeCoder } from '../fakes/coderd/index.ts';
import { eventually } from '../util/eventually.ts';
import { createWorkspaceInCoder } from '../util/out-of-band.ts';
import { serveNamespace } from './control-planes.ts';
import { STACK_TIMEOUT_MS, clusterClient, stopStack } from './stack.ts';

const NS = 'team';
const GROUP = { group: 'aggregation.coder.com', version: 'v1alpha1', namespace: NS };
const WORKSPACES = `/apis/aggregation.coder.com/v1alpha1/namespaces/${NS}/coderworkspaces`;
/** The first replica keeps the defaults (15 s lease); later ones a short lease so expiry is quick to see. */
const DEFAULT_LEASE_MS = 15_000;
const SHORT = { leaseMs: 6_000, renewMs: 4_000, retryMs: 1_000 };
const SHORT_FLAGS = [
  `--leader-elect-lease-duration=${SHORT.leaseMs}ms`,
  `--leader-elect-renew-deadline=${SHORT.renewMs}ms`,
  `--leader-elect-retry-period=${SHORT.retryMs}ms`,
];
const SERVING_FLAGS = ['--shutdown-delay-duration=5s', '--watch-poll-interval=1s'];

let dir: string;
let stack: Stack;
let fake: FakeCoder;
const extra: ProductProcess[] = [];

const mk = (args: string[]) => mustKubectl(stack.cluster, args);

interface LeaseSpec {
  holderIdentity?: string;
  acquireTime?: string;
  leaseDurationSeconds?: number;
  leaseTransitions?: number;
}
async function lease(): Promise<LeaseSpec> {
  return (JSON.parse(await mk(['get', 'lease', 'coder-k8s-leader', '-n', 'coder-system', '-o', 'json'])) as { spec: LeaseSpec }).spec;
}
const holds = (spec: LeaseSpec, p: ProductProcess) => (spec.holderIdentity ?? '').endsWith(`_${p.pid}`);

async function leaderGauge(p: ProductProcess): Promise<boolean> {
  const text = await (await fetch(p.metricsUrl)).text();
  return /coder_k8s_leader_election_master_status\{lease="coder-k8s-leader"\} 1/.test(text);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A replica beside the stack's, serving with the same certificate (one caBundle for all). */
async function replica(name: string, flags: string[]): Promise<ProductProcess> {
  const p = await startProduct({
    stateDir: join(dir, name),
    cluster: stack.cluster,
    mode: { kind: 'operator' },
    extraFlags: [
      `--tls-cert-file=${join(stack.product.certDir, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(stack.product.certDir, 'apiserver.key')}`,
      ...flags,
    ],
  });
  extra.push(p);
  return p;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coder-k8s-e2e-replicas-'));
  fake = await startFakeCoder({ buildTimings: { pendingMs: 20, runningMs: 80 } });
  stack = await startStack({ stateDir: dir, mode: { kind: 'operator' }, namespaces: [], productFlags: SERVING_FLAGS });
  await serveNamespace(stack.cluster, NS, fake);
}, STACK_TIMEOUT_MS);

afterAll(async () => {
  for (const p of extra) await terminate(p.pid);
  await stopStack(stack, dir);
  await fake.close();
}, STACK_TIMEOUT_MS);

describe('a rolling restart', () => {
  it('under GET/LIST/WATCH load through kube-apiserver fails no request, re-establishes the watch and hands the Lease over at once', async () => {
    const { makeInformer } = await import('@kubernetes/client-node');
    const { kc, api } = await clusterClient(stack.cluster.kubeconfig);
    const a = stack.product;
    expect(holds(await lease(), a)).toBe(true);
    const b = await replica('b', [...SERVING_FLAGS, ...SHORT_FLAGS]);
    expect(await leaderGauge(b)).toBe(false);

    // The load: GET and LIST of both resources in four loops, and an informer (LIST + WATCH).
    let sent = 0;
    const failed: string[] = [];
    let loading = true;
    const loop = async (call: () => Promise<unknown>) => {
      while (loading) {
        sent++;
        try {
          await call();
        } catch (err) {
          failed.push(err instanceof Error ? err.message : String(err));
        }
      }
    };
    const load = [
      loop(() => api.getNamespacedCustomObject({ ...GROUP, plural: 'coderworkspaces', name: 'coder.alice.dev' })),
      loop(() => api.listNamespacedCustomObject({ ...GROUP, plural: 'coderworkspaces' })),
      loop(() => api.getNamespacedCustomObject({ ...GROUP, plural: 'codertemplates', name: 'coder.docker' })),
      loop(() => api.listNamespacedCustomObject({ ...GROUP, plural: 'codertemplates' })),
    ];
    let lists = 0;
    const informer = makeInformer<KubernetesObject>(kc, WORKSPACES, () => {
      lists++;
      return api.listNamespacedCustomObject({ ...GROUP, plural: 'coderworkspaces' }) as never;
    });
    const watchErrors: string[] = [];
    informer.on('error', (err: unknown) => {
      watchErrors.push(err instanceof Error ? err.message : JSON.stringify(err));
      // What applications do: start again after a pause.
      setTimeout(() => void informer.start().catch(() => undefined), 500);
    });
    await informer.start();
    const names = () => informer.list().map((o) => o.metadata?.name ?? '');
    await eventually('the informer to sync', () => Promise.resolve(names().includes('coder.alice.dev') || undefined), 30_000);
    await eventually('load to flow', () => Promise.resolve(sent > 20 || undefined), 30_000);

    // What a Deployment rollout does: SIGTERM the old Pod; it turns unready; the endpoints move
    // to the new Pod (here: the APIService's port); the old one serves through the delay, drains, exits.
    const listsBefore = lists;
    const sigterm = Date.now();
    process.kill(a.pid, 'SIGTERM');
    await eventually('replica A to turn unready', async () => ((await fetch(`${a.healthUrl}/readyz`).catch(() => undefined))?.status !== 200 ? true : undefined), 10_000);
    await registerAPIService(stack.cluster, b.securePort, join(a.certDir, 'ca.crt'));
    await eventually('replica A to exit', () => Promise.resolve(!alive(a.pid) || undefined), 60_000);

    // The Lease: released at SIGTERM, taken by B on its next try rather than after expiry.
    const taken = await eventually('B to lead', async () => {
      const spec = await lease();
      return holds(spec, b) ? spec : undefined;
    });
    const handoverMs = Date.parse(taken.acquireTime ?? '') - sigterm;
    console.log(`leader hand-over after SIGTERM: ${handoverMs} ms (lease duration ${DEFAULT_LEASE_MS} ms)`);
    expect(handoverMs).toBeLessThan(DEFAULT_LEASE_MS / 2);
    await eventually("B's leader gauge", async () => ((await leaderGauge(b)) ? true : undefined), 10_000);
    const log = await readFile(a.logFile, 'utf8');
    expect(log).toMatch(/released leader lease/);

    // The watch continues through B: a workspace made in Coder reaches the informer.
    await createWorkspaceInCoder(fake, 'alice', 'after-restart');
    await eventually('the informer to see a change served by B', () => Promise.resolve(names().includes('coder.alice.after-restart') || undefined), 60_000);
    loading = false;
    await Promise.all(load);
    await informer.stop();

    console.log(
      `rolling restart under load: ${sent} requests sent, ${failed.length} failed; watch errors ${JSON.stringify(watchErrors)}; informer lists ${listsBefore} → ${lists}`,
    );
    expect(failed).toEqual([]);
    // A watch resumed on B with A's resourceVersion is told to re-list (410); nothing else may fail.
    expect(watchErrors.filter((e) => !/410|Expired|Gone/.test(e))).toEqual([]);
    expect(sent).toBeGreaterThan(100);
    await waitForAPIService(stack.cluster);
  }, 240_000);
});

describe('a frozen leader', () => {
  it('is replaced once its lease expires, and on waking stops reconciling while its API server keeps serving', async () => {
    const [b] = extra;
    if (!b) throw new Error('the rolling restart test starts replica B');
    expect(holds(await lease(), b)).toBe(true);
    const c = await replica('c', SHORT_FLAGS);
    expect(await leaderGauge(c)).toBe(false);

    const frozen = Date.now();
    process.kill(b.pid, 'SIGSTOP');
    let taken: LeaseSpec;
    try {
      taken = await eventually('C to take the expired lease', async () => {
        const spec = await lease();
        return holds(spec, c) ? spec : undefined;
      }, 60_000);
    } finally {
      process.kill(b.pid, 'SIGCONT');
    }
    const takeoverMs = Date.parse(taken.acquireTime ?? '') - frozen;
    console.log(`frozen leader replaced after ${takeoverMs} ms (lease duration ${SHORT.leaseMs} ms, retry period ${SHORT.retryMs} ms)`);
    // Never before the lease could have lapsed: B last renewed at most one retry period before it froze.
    expect(takeoverMs).toBeGreaterThanOrEqual(SHORT.leaseMs - SHORT.retryMs);

    // B wakes up: it sees C's lease and stops leading; the process and its API server stay up.
    await eventually("B's leader gauge to drop", async () => ((await leaderGauge(b)) ? undefined : true), 30_000);
    expect(await readFile(b.logFile, 'utf8')).toMatch(/lost the leader lease/);
    expect(alive(b.pid)).toBe(true);
    expect((await fetch(`${b.healthUrl}/readyz`)).status).toBe(200);
    const served = await kubectl(stack.cluster, ['get', 'coderworkspaces', '-n', NS, '-o', 'name']);
    expect(served.stdout).toContain('coder.alice.dev');
    expect(holds(await lease(), c)).toBe(true);
    await eventually("C's leader gauge", async () => ((await leaderGauge(c)) ? true : undefined), 10_000);
  }, 180_000);
});
