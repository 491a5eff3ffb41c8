// Benchmark: WATCH over HTTPS with a client certificate against the fake Coder (not a test).
// 1. Delivery: W watchers (1, 100, 1000) on one namespace while workspaces are changed
//    through the server at R changes/s: write→event latency p50/p99, events/s delivered,
//    memory per watcher (server and client ends together, after GC), watchers dropped.
// 2. Poll cost: one poll of a namespace holding N workspaces (100, 1 000, 10 000) with
//    nothing changed: wall time, CPU time and Coder requests per poll.
// Run: make bench (or node --expose-gc bench/watch.ts).
import { CODER_WORKSPACE } from '../pkg/api/aggregation/v1alpha1/resources.ts';
import { CoderClient, countCoderRequests } from '../pkg/coder/client.ts';
import { WorkspaceStorage } from '../pkg/storage/workspaces/storage.ts';
import { ResourceVersionClock } from '../pkg/watch/resource-version.ts';
import { EventSource } from '../pkg/watch/source.ts';
import { defaultSeed, startFakeCoder } from '../test/fakes/coderd/index.ts';
import { WORKSPACES, startHarness } from '../test/integration/harness.ts';
import type { OpenedWatch } from '../test/integration/watch-client.ts';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
};

async function delivery(): Promise<void> {
  const h = await startHarness({ flags: ['--watch-poll-interval=5s', '--watch-buffer-size=1000'] });
  const workspace = `${WORKSPACES}/coder.alice.dev`;
  let seq = 0;
  // Warm-up: the first watch and writes load code and fill caches; not measured.
  const warm = await h.watch(`${WORKSPACES}?watch=true`);
  for (let i = 0; i < 20; i++) {
    await h.request('PATCH', workspace, { body: { spec: { ttlMillis: (60 + ++seq) * 60_000 } }, contentType: 'application/merge-patch+json' });
  }
  warm.close();
  console.log('\nwatch delivery: writes through the server (PATCH spec.ttlMillis), every watcher on namespace coder');
  console.log('watchers  changes/s  events   events/s   p50 ms   p99 ms   KiB/watcher  dropped');
  for (const watchers of [1, 100, 1000]) {
    for (const rate of [10, 50]) {
      await settle();
      const heapBefore = process.memoryUsage().heapUsed;
      const rv = (await h.request<{ metadata: { resourceVersion: string } }>('GET', WORKSPACES)).body.metadata.resourceVersion;
      const open: OpenedWatch[] = [];
      for (let i = 0; i < watchers; i++) open.push(await h.watch(`${WORKSPACES}?watch=true&resourceVersion=${rv}`));
      await settle();
      const perWatcher = (process.memoryUsage().heapUsed - heapBefore) / watchers / 1024;
      const sent = new Map<number, number>();
      const latencies: number[] = [];
      const collected = open.map(() => 0);
      const collect = () => {
        open.forEach((w, i) => {
          for (let k = collected[i] ?? 0; k < w.events.length; k++) {
            const object = w.events[k]?.object as { spec?: { ttlMillis?: number } } | undefined;
            const at = sent.get((object?.spec?.ttlMillis ?? 0) / 60_000);
            const received = w.receivedAt[k];
            if (at !== undefined && received !== undefined) latencies.push(received - at);
          }
          collected[i] = w.events.length;
        });
      };
      const changes = rate * 3;
      const started = performance.now();
      for (let i = 0; i < changes; i++) {
        const minutes = 60 + ++seq;
        sent.set(minutes, performance.now());
        await h.request('PATCH', workspace, { body: { spec: { ttlMillis: minutes * 60_000 } }, contentType: 'application/merge-patch+json' });
        collect();
        const due = started + ((i + 1) * 1000) / rate;
        if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
      }
      const deadline = Date.now() + 30_000;
      while (open.some((w) => w.events.length < changes) && Date.now() < deadline) {
        collect();
        await new Promise((r) => setTimeout(r, 5));
      }
      collect();
      const elapsed = (performance.now() - started) / 1000;
      const delivered = open.reduce((n, w) => n + w.events.length, 0);
      const dropped = open.filter((w) => w.ended).length;
      latencies.sort((a, b) => a - b);
      console.log(
        `${String(watchers).padStart(8)} ${String(rate).padStart(10)} ${String(delivered).padStart(7)} ${(delivered / elapsed).toFixed(0).padStart(10)} ${percentile(latencies, 50).toFixed(1).padStart(8)} ${percentile(latencies, 99).toFixed(1).padStart(8)} ${perWatcher.toFixed(1).padStart(12)} ${String(dropped).padStart(8)}`,
      );
      for (const w of open) w.close();
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await h.close();
}

async function pollCost(): Promise<void> {
  console.log('\nwatch poll cost: one read of a namespace with nothing changed (median of 5)');
  console.log('workspaces   wall ms   cpu ms   Coder requests');
  for (const n of [100, 1000, 10_000]) {
    const seed = defaultSeed();
    seed.workspaces = Array.from({ length: n }, (_, i) => ({ owner: i % 2 ? 'alice' : 'bob', template: 'coder/docker', name: `w${i}`, state: 'running' as const }));
    const fake = await startFakeCoder({ seed });
    const coder = new CoderClient({ url: fake.url, token: fake.adminToken });
    const storage = new WorkspaceStorage({ buildWaitMs: 1000 });
    const clock = new ResourceVersionClock();
    const ctx = { backend: { namespace: 'coder', url: fake.url, coder }, dryRun: false, warnings: [] };
    const source = new EventSource({ clock, historySize: 1000, pollIntervalMs: 1_000_000, read: () => storage.list(ctx) });
    await source.refresh();
    const walls: number[] = [];
    const cpus: number[] = [];
    let requests = 0;
    for (let i = 0; i < 5; i++) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      const result = await countCoderRequests(() => source.refresh());
      walls.push(performance.now() - started);
      const used = process.cpuUsage(cpu);
      cpus.push((used.user + used.system) / 1000);
      requests = result.requests;
    }
    walls.sort((a, b) => a - b);
    cpus.sort((a, b) => a - b);
    console.log(`${String(n).padStart(10)} ${percentile(walls, 50).toFixed(1).padStart(9)} ${percentile(cpus, 50).toFixed(1).padStart(8)} ${String(requests).padStart(16)}`);
    await coder.close();
    await fake.close();
  }
  console.log('(cpu ms includes the in-process fake Coder answering the requests)');
}

console.log(`${CODER_WORKSPACE.plural}: node ${process.version}, gc ${gc.name === 'gc' ? 'exposed' : 'not exposed (run with --expose-gc for memory figures)'}`);
await delivery();
await pollCost();
