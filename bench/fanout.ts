// Benchmark: all-namespaces LIST latency against N Coder deployments (fake, with injected
// per-request latency), sequential (concurrency 1) versus bounded concurrent fan-out.
// Prints percentiles and the speed-up ratio. Run: make bench (or node bench/fanout.ts [namespaces] [iterations]).
import { CODER_WORKSPACE } from '../pkg/api/aggregation/v1alpha1/resources.ts';
import { listAllNamespaces } from '../pkg/apiserver/fanout.ts';
import { CoderClient } from '../pkg/coder/client.ts';
import { WorkspaceStorage } from '../pkg/storage/workspaces/storage.ts';
import { startFakeCoder, type FakeCoder } from '../test/fakes/coderd/index.ts';

const namespaces = Number(process.argv[2] ?? 24);
const iterations = Number(process.argv[3] ?? 30);
const LATENCY_MS = 25;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const fakes: FakeCoder[] = [];
  const clients = new Map<string, CoderClient>();
  for (let i = 0; i < namespaces; i++) {
    const fake = await startFakeCoder();
    fake.knobs.latencyMs = LATENCY_MS;
    fakes.push(fake);
    clients.set(`ns-${String(i).padStart(3, '0')}`, new CoderClient({ url: fake.url, token: fake.adminToken }));
  }
  const storage = new WorkspaceStorage({ buildWaitMs: 1000 });
  const names = [...clients.keys()];
  const context = (ns: string) => ({ backend: { namespace: ns, url: '', coder: clients.get(ns) as CoderClient }, dryRun: false, warnings: [] });

  const results: Record<string, number[]> = {};
  for (const concurrency of [1, 4, 16]) {
    const samples: number[] = [];
    await listAllNamespaces(storage, names, context, { concurrency, timeoutMs: 30_000 }); // warm connections
    for (let i = 0; i < iterations; i++) {
      const started = performance.now();
      const items = await listAllNamespaces(storage, names, context, { concurrency, timeoutMs: 30_000 });
      samples.push(performance.now() - started);
      if (items.length !== namespaces * 3) throw new Error(`expected ${namespaces * 3} workspaces, got ${items.length}`);
    }
    results[concurrency] = samples.sort((a, b) => a - b);
  }
  const rss = process.memoryUsage().rss / 1024 / 1024;
  console.log(`fan-out LIST of coderworkspaces over ${namespaces} namespaces, ${LATENCY_MS}ms Coder latency, ${iterations} iterations`);
  console.log('concurrency     p50 ms    p95 ms    p99 ms   speed-up(p50)');
  const base = percentile(results[1] ?? [], 50);
  for (const [concurrency, samples] of Object.entries(results)) {
    const p50 = percentile(samples, 50);
    console.log(
      `${concurrency.padStart(11)} ${p50.toFixed(1).padStart(9)} ${percentile(samples, 95).toFixed(1).padStart(9)} ${percentile(samples, 99).toFixed(1).padStart(9)} ${(base / p50).toFixed(2).padStart(12)}x`,
    );
  }
  console.log(`rss ${rss.toFixed(0)} MiB (${CODER_WORKSPACE.plural})`);
  for (const c of clients.values()) await c.close();
  for (const f of fakes) await f.close();
}

await main();
