// Benchmark: the aggregated API server as a process of its own (static mode, HTTPS, x509
// client certificates, no kubeconfig) in front of the fake Coder, itself in another process,
// with this process as the client: three event loops, so no side measures the others' work.
//   - start-to-first-200 (spawn → first 200 of a workspace GET) and idle RSS (VmRSS),
//   - GET one workspace, GET one template, LIST templates, LIST workspaces at 100, 1 000 and
//     10 000 workspaces, each at 1 and 16 clients: p50, p99, requests/s,
//   - the same figures for the fake alone, answering the Coder calls that request makes
//     (read from the fake's counters: "Coder calls/req"), and the ratios product/fake,
//   - peak RSS (VmHWM) of one LIST of 10 000 workspaces from idle, against the size of that response.
// Targets (issue 11) are printed PASS/FAIL beside the figures; they are ratios because the
// machine is noisy, except idle RSS and start-to-first-200 (meaningful for dist and sea).
// Run: make bench, or
//   node bench/apiserver.ts [--artifact=source|dist|sea] [--duration=4] [--json=out.json]
// (--help lists every flag). The artifacts come from `make dist`.
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Agent, getGlobalDispatcher, request, type Dispatcher } from 'undici';
import { createCertificateAuthority, issueCertificate } from '../pkg/certs/certs.ts';
import { freePort } from '../hack/lib/process.ts';
import { defaultSeed, startFakeCoder, type Seed } from '../test/fakes/coderd/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const NAMESPACE = 'bench';
const GROUP_VERSION = '/apis/aggregation.coder.com/v1alpha1';
const WORKSPACES = `${GROUP_VERSION}/namespaces/${NAMESPACE}/coderworkspaces`;
const TEMPLATES = `${GROUP_VERSION}/namespaces/${NAMESPACE}/codertemplates`;
const MiB = 1024 * 1024;

const USAGE = `Usage: node bench/apiserver.ts [options]

  --artifact <source|dist|sea>  what runs the product (default: source, env BENCH_ARTIFACT):
                                source = node cmd/coder-k8s/main.ts, dist = node dist/coder-k8s.mjs,
                                sea = dist/coder-k8s-${process.platform}-${process.arch} (make dist builds both)
  --protocol <h2|http1>         how the client speaks to coder-k8s (default h2, env BENCH_PROTOCOL):
                                h2 = HTTP/2 streams, as kube-apiserver's proxy reaches it;
                                http1 = one keep-alive connection per client, as to the fake
  --sizes <n,n,...>             workspace counts for LIST workspaces (default 100,1000,10000)
  --templates <n>               templates in the fake (default 25)
  --duration <s>                measured seconds per workload and side (default 4)
  --warmup <s>                  unmeasured seconds before each (default 0.5)
  --settle <s>                  quiet time before idle RSS is read (default 2)
  --min-requests <n>            at least this many measured requests per workload (default 5)
  --json <path>                 also write the results as JSON (to compare runs)
  -h, --help
`;

// ---------------------------------------------------------------------------------------------
// The fake Coder's process: `--fake-only`, forked with an IPC channel. It answers
// {type:'counters', reset} with the counters (then resets them when asked).

interface FakeReady {
  type: 'ready';
  url: string;
  token: string;
}
interface FakeCounters {
  type: 'counters';
  counts: Record<string, number>;
}

function benchSeed(workspaces: number, templates: number): Seed {
  const seed = defaultSeed();
  const docker = seed.templates[0];
  if (!docker) throw new Error('the default seed has no template');
  for (let i = seed.templates.length; i < templates; i++) seed.templates.push({ ...docker, name: `t${i}`, display_name: `Template ${i}` });
  seed.workspaces = Array.from({ length: workspaces }, (_, i) => ({
    owner: i % 2 ? 'alice' : 'bob',
    template: i % 3 ? 'coder/docker' : 'coder/kubernetes',
    name: `w${i}`,
    state: i % 4 ? ('running' as const) : ('stopped' as const),
  }));
  return seed;
}

async function fakeOnly(workspaces: number, templates: number): Promise<void> {
  const fake = await startFakeCoder({ seed: benchSeed(workspaces, templates) });
  process.on('message', (m: { type?: string; reset?: boolean }) => {
    if (m.type !== 'counters') return;
    const reply: FakeCounters = { type: 'counters', counts: fake.counters.snapshot() };
    if (m.reset) fake.counters.reset();
    process.send?.(reply);
  });
  process.on('disconnect', () => {
    void fake.close().finally(() => process.exit(0));
  });
  const ready: FakeReady = { type: 'ready', url: fake.url, token: fake.adminToken };
  process.send?.(ready);
}

interface FakeProcess {
  url: string;
  token: string;
  pid: number;
  /** Requests per route since the last reset ("GET /api/v2/workspaces": 12). */
  counters(reset: boolean): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

async function startFakeProcess(workspaces: number, templates: number): Promise<FakeProcess> {
  const child = fork(SELF, ['--fake-only', `--workspaces=${workspaces}`, `--templates=${templates}`], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  const ready = await new Promise<FakeReady>((resolve, reject) => {
    child.once('message', (m: FakeReady) => {
      resolve(m);
    });
    child.once('exit', (code) => {
      reject(new Error(`the fake Coder exited (${code ?? 'signal'}) before it was ready`));
    });
  });
  let queue: Promise<unknown> = Promise.resolve();
  return {
    url: ready.url,
    token: ready.token,
    pid: child.pid ?? 0,
    counters(reset) {
      const next = queue.then(
        () =>
          new Promise<Record<string, number>>((resolve) => {
            child.once('message', (m: FakeCounters) => {
              resolve(m.counts);
            });
            child.send({ type: 'counters', reset });
          }),
      );
      queue = next;
      return next;
    },
    async stop() {
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The product's process.

type Artifact = 'source' | 'dist' | 'sea';
/** How this client speaks to the product; the fake Coder is plain HTTP/1.1 either way. */
type Protocol = 'http1' | 'h2';

function productCommand(artifact: Artifact): { command: string; args: string[] } {
  const sea = join(ROOT, 'dist', `coder-k8s-${process.platform}-${process.arch}`);
  const bundle = join(ROOT, 'dist', 'coder-k8s.mjs');
  const need = (path: string) => {
    if (!existsSync(path)) throw new Error(`${path} is missing: build it with \`make dist\` (node hack/dist.ts), or use --artifact=source`);
  };
  if (artifact === 'sea') {
    need(sea);
    return { command: sea, args: [] };
  }
  if (artifact === 'dist') {
    need(bundle);
    return { command: process.execPath, args: [bundle] };
  }
  return { command: process.execPath, args: [join(ROOT, 'cmd', 'coder-k8s', 'main.ts')] };
}

interface Identity {
  caFile: string;
  cert: string;
  key: string;
}

interface ProductProcess {
  pid: number;
  baseUrl: string;
  /** Spawn → first 200 of a workspace GET, ms. */
  startToFirst200Ms: number;
  /** Trusts the serving CA the product wrote into --cert-dir, presents the client certificate. */
  agent(connections: number): Agent;
  logFile: string;
  stop(): Promise<void>;
}

async function startProduct(
  artifact: Artifact,
  protocol: Protocol,
  fake: FakeProcess,
  dir: string,
  id: Identity,
  probePath: string,
): Promise<ProductProcess> {
  const tokenFile = join(dir, 'coder-token');
  await writeFile(tokenFile, fake.token, { mode: 0o600 });
  const securePort = await freePort();
  const healthPort = await freePort();
  const certDir = join(dir, 'serving');
  const logFile = join(dir, 'coder-k8s.log');
  const { command, args } = productCommand(artifact);
  const log = openSync(logFile, 'a');
  const started = performance.now();
  const child: ChildProcess = spawn(
    command,
    [
      ...args,
      '--app=aggregated-apiserver',
      `--coder-url=${fake.url}`,
      `--coder-session-token-file=${tokenFile}`,
      `--coder-namespace=${NAMESPACE}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${securePort}`,
      `--cert-dir=${certDir}`,
      `--client-ca-file=${id.caFile}`,
      '--metrics-bind-address=0',
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
      '--log-format=json',
    ],
    // Never in-cluster (no kubeconfig), even when the bench itself runs in a Pod.
    { cwd: ROOT, stdio: ['ignore', log, log], env: { ...process.env, KUBERNETES_SERVICE_HOST: '' } },
  );
  closeSync(log);
  const pid = child.pid;
  if (!pid) throw new Error('could not start coder-k8s');
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      resolve();
    });
  });
  const baseUrl = `https://127.0.0.1:${securePort}`;
  const stop = async () => {
    if (exitCode === undefined) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  // The probe cannot know the serving CA yet (the product writes it on start): it skips
  // server verification; every measured request afterwards verifies.
  const probe = new Agent({ allowH2: protocol === 'h2', connect: { cert: id.cert, key: id.key, rejectUnauthorized: false } });
  let startToFirst200Ms = NaN;
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exitCode !== undefined) throw new Error(`coder-k8s exited (${exitCode ?? 'signal'}); see ${logFile}`);
      if (Date.now() > deadline) throw new Error(`coder-k8s did not answer 200 within 60s; see ${logFile}`);
      const status = await request(baseUrl + probePath, { dispatcher: probe }).then(
        async (res) => {
          await res.body.dump();
          return res.statusCode;
        },
        () => 0,
      );
      if (status === 200) {
        startToFirst200Ms = performance.now() - started;
        break;
      }
      if (status !== 0 && status !== 503) throw new Error(`GET ${probePath}: ${status}; see ${logFile}`);
      await sleep(5);
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    await probe.destroy();
  }
  const ca = await readFile(join(certDir, 'ca.crt'), 'utf8');
  return {
    pid,
    baseUrl,
    startToFirst200Ms,
    agent: (connections) =>
      new Agent({ connections, allowH2: protocol === 'h2', connect: { ca, cert: id.cert, key: id.key, servername: 'localhost' } }),
    logFile,
    stop,
  };
}

// ---------------------------------------------------------------------------------------------
// Measurement.

interface Memory {
  rssMiB: number;
  hwmMiB: number;
}

async function memory(pid: number): Promise<Memory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kB('VmRSS') / 1024, hwmMiB: kB('VmHWM') / 1024 };
}

/** Resets VmHWM to the current RSS (Linux: "5" > clear_refs); false when not allowed. */
async function resetPeak(pid: number): Promise<boolean> {
  return writeFile(`/proc/${pid}/clear_refs`, '5').then(
    () => true,
    () => false,
  );
}

interface Stats {
  /** Answered with 200 (latencies and req/s count only these). */
  requests: number;
  /** Failed: another status, a reset stream, a broken connection. */
  errors: number;
  firstError?: string;
  p50: number;
  p99: number;
  rps: number;
  /** Body bytes of the last response. */
  bytes: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** One request (or a sequence of them) returning the body size; throws unless every answer is 200. */
type Call = () => Promise<number>;

async function get(dispatcher: Dispatcher, url: string, headers: Record<string, string>): Promise<number> {
  const res = await request(url, { dispatcher, headers });
  let bytes = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) bytes += chunk.length;
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode}`);
  return bytes;
}

/** `concurrency` clients, each sending its next request when the previous one is answered. */
async function load(concurrency: number, seconds: number, minRequests: number, call: Call): Promise<Stats> {
  const latencies: number[] = [];
  let bytes = 0;
  let issued = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline || issued < minRequests) {
      issued++;
      const t = performance.now();
      try {
        bytes = await call();
        latencies.push(performance.now() - t);
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? `${err.message}${(err as { code?: string }).code ? ` (${(err as { code?: string }).code ?? ''})` : ''}` : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    rps: latencies.length / elapsed,
    bytes,
  };
}

interface Settings {
  artifact: Artifact;
  protocol: Protocol;
  sizes: number[];
  templates: number;
  duration: number;
  warmup: number;
  settle: number;
  minRequests: number;
}

interface Row {
  workload: string;
  workspaces: number;
  concurrency: number;
  product: Stats;
  fake: Stats;
  /** Coder requests per product request, by route (from the fake's counters). */
  coderCalls: Record<string, number>;
  /** What the fake-alone side sends for one product request. */
  fakeCalls: string[];
}

interface Deployment {
  workspaces: number;
  startToFirst200Ms: number;
  /** RSS right after the first 200, before the warm-up. */
  firstRssMiB: number;
  idleRssMiB: number;
}

interface Peak {
  workspaces: number;
  responseBytes: number;
  /** Size of Coder's answer the product reads for it (GET /api/v2/workspaces). */
  coderResponseBytes: number;
  idleRssMiB: number;
  peakRssMiB: number;
  peakResetWorked: boolean;
  /** VmHWM after the 16-client LIST runs too. */
  peakRssConcurrentMiB: number;
  firstListMs: number;
}

interface Workload {
  name: string;
  product: string;
  /** The Coder calls the product makes for it, sent one after the other. */
  fake: string[];
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

async function measure(
  s: Settings,
  fake: FakeProcess,
  product: ProductProcess,
  w: Workload,
  workspaces: number,
  rows: Row[],
  after?: (concurrency: number) => Promise<void>,
): Promise<void> {
  const coderHeaders = { 'coder-session-token': fake.token, accept: 'application/json' };
  for (const concurrency of [1, 16]) {
    const productAgent = product.agent(concurrency);
    const fakeAgent = new Agent({ connections: concurrency, allowH2: false });
    const productCall: Call = () => get(productAgent, product.baseUrl + w.product, { accept: 'application/json' });
    const fakeCall: Call = async () => {
      let bytes = 0;
      for (const path of w.fake) bytes = await get(fakeAgent, fake.url + path, coderHeaders);
      return bytes;
    };
    const minimum = Math.max(s.minRequests, concurrency);
    await load(concurrency, s.warmup, concurrency, productCall);
    await fake.counters(true);
    const p = await load(concurrency, s.duration, minimum, productCall);
    const counts = await fake.counters(true);
    await after?.(concurrency);
    await load(concurrency, s.warmup, concurrency, fakeCall);
    const f = await load(concurrency, s.duration, minimum, fakeCall);
    await productAgent.destroy();
    await fakeAgent.destroy();
    const coderCalls = Object.fromEntries(Object.entries(counts).map(([route, n]) => [route, n / (p.requests + p.errors)]));
    rows.push({ workload: w.name, workspaces, concurrency, product: p, fake: f, coderCalls, fakeCalls: w.fake });
    const calls = Object.values(coderCalls).reduce((a, b) => a + b, 0);
    const failed = p.errors + f.errors > 0 ? `, FAILED: product ${p.errors}, fake ${f.errors} (${p.firstError ?? f.firstError ?? '?'})` : '';
    process.stderr.write(
      `  ${w.name.padEnd(16)} n=${String(workspaces).padEnd(6)} c=${String(concurrency).padEnd(3)} product p50 ${fmt(p.p50, 2)} ms ${fmt(p.rps, 0)}/s, fake p50 ${fmt(f.p50, 2)} ms ${fmt(f.rps, 0)}/s, ${fmt(calls, 2)} Coder calls/req${failed}\n`,
    );
  }
}

async function deployment(
  s: Settings,
  workspaces: number,
  dir: string,
  id: Identity,
  rows: Row[],
  deployments: Deployment[],
  peaks: Peak[],
  gets: boolean,
): Promise<void> {
  process.stderr.write(`· ${workspaces} workspaces: starting the fake Coder and coder-k8s (${s.artifact})\n`);
  const fake = await startFakeProcess(workspaces, s.templates);
  const workspace = `${WORKSPACES}/coder.alice.w1`;
  let product: ProductProcess | undefined;
  try {
    product = await startProduct(s.artifact, s.protocol, fake, dir, id, workspace);
    const p = product;
    const first = await memory(p.pid);
    // Warm-up: a few of each small request, then quiet.
    const warm = p.agent(1);
    for (let i = 0; i < 20; i++) {
      for (const path of [workspace, `${TEMPLATES}/coder.docker`, TEMPLATES]) await get(warm, p.baseUrl + path, {});
    }
    await warm.destroy();
    await sleep(s.settle * 1000);
    const idle = await memory(p.pid);
    deployments.push({ workspaces, startToFirst200Ms: p.startToFirst200Ms, firstRssMiB: first.rssMiB, idleRssMiB: idle.rssMiB });
    process.stderr.write(`  start-to-first-200 ${fmt(p.startToFirst200Ms, 0)} ms, RSS then ${fmt(first.rssMiB)} MiB, idle RSS after warm-up ${fmt(idle.rssMiB)} MiB\n`);

    const coderHeaders = { 'coder-session-token': fake.token };
    let peak: Peak | undefined;
    if (workspaces === Math.max(...s.sizes)) {
      // One LIST from idle (before any load has grown the heap): its response size and the peak RSS it causes.
      const before = await memory(p.pid);
      const peakResetWorked = await resetPeak(p.pid);
      const agent = p.agent(1);
      const t = performance.now();
      const responseBytes = await get(agent, p.baseUrl + WORKSPACES, {});
      const firstListMs = performance.now() - t;
      await agent.destroy();
      const after = await memory(p.pid);
      const coderResponseBytes = await get(getGlobalDispatcher(), fake.url + '/api/v2/workspaces', coderHeaders);
      peak = {
        workspaces,
        responseBytes,
        coderResponseBytes,
        idleRssMiB: before.rssMiB,
        peakRssMiB: after.hwmMiB,
        peakResetWorked,
        peakRssConcurrentMiB: NaN,
        firstListMs,
      };
      peaks.push(peak);
      process.stderr.write(
        `  LIST of ${workspaces}: ${fmt(responseBytes / MiB)} MiB response, RSS ${fmt(before.rssMiB)} → peak ${fmt(after.hwmMiB)} MiB${peakResetWorked ? '' : ' (VmHWM since start: clear_refs not writable)'}\n`,
      );
    }
    if (gets) {
      const org = JSON.parse(await getText(fake.url + '/api/v2/organizations/coder', coderHeaders)) as { id: string };
      const template = JSON.parse(await getText(`${fake.url}/api/v2/organizations/${org.id}/templates/docker`, coderHeaders)) as { id: string };
      const workloads: Workload[] = [
        { name: 'GET workspace', product: workspace, fake: ['/api/v2/users/alice/workspace/w1'] },
        {
          name: 'GET template',
          product: `${TEMPLATES}/coder.docker`,
          fake: [`/api/v2/organizations/${org.id}/templates/docker`, `/api/v2/templates/${template.id}/versions`],
        },
        { name: 'LIST templates', product: TEMPLATES, fake: ['/api/v2/templates'] },
      ];
      for (const w of workloads) await measure(s, fake, p, w, workspaces, rows);
    }

    const list: Workload = { name: 'LIST workspaces', product: WORKSPACES, fake: ['/api/v2/workspaces'] };
    const found = peak;
    await measure(s, fake, p, list, workspaces, rows, async (concurrency) => {
      if (found && concurrency === 16) found.peakRssConcurrentMiB = (await memory(p.pid)).hwmMiB;
    });
  } finally {
    await product?.stop();
    await fake.stop();
  }
}

async function getText(url: string, headers: Record<string, string>): Promise<string> {
  const res = await request(url, { headers });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${text}`);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Report.

interface Target {
  name: string;
  value: string;
  limit: string;
  pass: boolean;
  note?: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return percentile(sorted, 50);
}

function report(s: Settings, rows: Row[], deployments: Deployment[], peaks: Peak[]): Target[] {
  const header =
    'workload            N   c │ product p50    p99   req/s │ fake p50    p99   req/s │ p50 ×  req/s × overhead p50 │ Coder calls/req';
  console.log(
    `\ncoder-k8s aggregated API server (${s.artifact}, client ${s.protocol === 'h2' ? 'HTTP/2' : 'HTTP/1.1'}), node ${process.version}; ${s.duration}s per side, ${s.templates} templates`,
  );
  console.log(header);
  console.log('─'.repeat(header.length));
  for (const r of rows) {
    const calls = Object.entries(r.coderCalls)
      .filter(([, n]) => n >= 0.005)
      .map(([route, n]) => `${fmt(n, 2)} ${route.replace('/api/v2', '')}`)
      .join(', ');
    console.log(
      [
        r.workload.padEnd(16),
        String(r.workspaces).padStart(6),
        String(r.concurrency).padStart(3),
        '│',
        fmt(r.product.p50, 2).padStart(11),
        fmt(r.product.p99, 2).padStart(6),
        fmt(r.product.rps, 0).padStart(7),
        '│',
        fmt(r.fake.p50, 2).padStart(8),
        fmt(r.fake.p99, 2).padStart(6),
        fmt(r.fake.rps, 0).padStart(7),
        '│',
        fmt(r.product.p50 / r.fake.p50, 2).padStart(5),
        fmt(r.product.rps / r.fake.rps, 2).padStart(8),
        `${fmt(r.product.p50 - r.fake.p50, 2)} ms`.padStart(12),
        '│',
        calls || '-',
      ].join(' '),
    );
  }
  console.log('(ms; "fake" = the fake Coder alone answering the Coder calls one product request makes, in sequence;');
  console.log(' p50 × and req/s × = product/fake; overhead p50 = product p50 − fake p50)');
  for (const r of rows) {
    for (const [side, stats] of [
      ['product', r.product],
      ['fake', r.fake],
    ] as const) {
      if (stats.errors > 0) {
        console.log(`FAILED REQUESTS: ${r.workload} n=${r.workspaces} c=${r.concurrency} ${side}: ${stats.errors} of ${stats.errors + stats.requests}, first: ${stats.firstError ?? '?'}`);
      }
    }
  }
  console.log('\nstart-to-first-200 and idle RSS per product start:');
  for (const d of deployments) {
    console.log(
      `  ${String(d.workspaces).padStart(6)} workspaces: start-to-first-200 ${fmt(d.startToFirst200Ms, 0)} ms, RSS at the first 200 ${fmt(d.firstRssMiB)} MiB, idle RSS after warm-up ${fmt(d.idleRssMiB)} MiB`,
    );
  }
  for (const p of peaks) {
    console.log(
      `LIST of ${p.workspaces} workspaces: response ${fmt(p.responseBytes / MiB, 2)} MiB (Coder's answer it reads ${fmt(p.coderResponseBytes / MiB, 2)} MiB), first LIST ${fmt(p.firstListMs, 0)} ms; RSS ${fmt(p.idleRssMiB)} MiB before, peak ${fmt(p.peakRssMiB)} MiB${p.peakResetWorked ? '' : ' (VmHWM since start)'}; peak after 16 concurrent LISTs ${fmt(p.peakRssConcurrentMiB)} MiB`,
    );
  }

  const targets: Target[] = [];
  for (const workload of ['GET workspace', 'GET template']) {
    const c16 = rows.find((r) => r.workload === workload && r.concurrency === 16);
    if (c16) {
      const ratio = c16.product.rps / c16.fake.rps;
      targets.push({ name: `${workload}: req/s at 16 clients vs the fake's`, value: `${fmt(ratio, 2)}×`, limit: '≥ 0.45×', pass: ratio >= 0.45 });
    }
    const c1 = rows.find((r) => r.workload === workload && r.concurrency === 1);
    if (c1) {
      const overhead = c1.product.p50 - c1.fake.p50;
      targets.push({ name: `${workload}: p50 overhead at 1 client`, value: `${fmt(overhead, 2)} ms`, limit: '≤ 1 ms', pass: overhead <= 1 });
    }
  }
  const idle = Math.max(...deployments.map((d) => d.idleRssMiB));
  targets.push({ name: 'idle RSS (largest of the starts)', value: `${fmt(idle)} MiB`, limit: '≤ 100 MiB', pass: idle <= 100 });
  const start = median(deployments.map((d) => d.startToFirst200Ms));
  targets.push({
    name: `start-to-first-200 (median of ${deployments.length}, ${s.artifact})`,
    value: `${fmt(start, 0)} ms`,
    limit: '≤ 500 ms',
    pass: start <= 500,
    ...(s.artifact === 'source' ? { note: 'the target is for --artifact=dist or sea' } : {}),
  });
  for (const p of peaks) {
    const limit = (1.5 * p.responseBytes) / MiB + p.idleRssMiB;
    targets.push({
      name: `peak RSS listing ${p.workspaces} workspaces`,
      value: `${fmt(p.peakRssMiB)} MiB`,
      limit: `≤ 1.5 × ${fmt(p.responseBytes / MiB, 1)} + ${fmt(p.idleRssMiB)} = ${fmt(limit)} MiB`,
      pass: p.peakRssMiB <= limit,
    });
  }
  console.log('\ntargets (issue 11):');
  const width = Math.max(...targets.map((t) => t.name.length));
  for (const t of targets) {
    console.log(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.name.padEnd(width)}  ${t.value.padStart(10)}  (${t.limit})${t.note ? `  — ${t.note}` : ''}`);
  }
  return targets;
}

// ---------------------------------------------------------------------------------------------

function positiveNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${raw}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'fake-only': { type: 'boolean' },
      workspaces: { type: 'string' },
      artifact: { type: 'string' },
      protocol: { type: 'string' },
      sizes: { type: 'string' },
      templates: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      settle: { type: 'string' },
      'min-requests': { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const templates = positiveNumber('templates', values.templates, 25);
  if (values['fake-only']) {
    await fakeOnly(positiveNumber('workspaces', values.workspaces, 100), templates);
    return;
  }
  const artifact = values.artifact ?? process.env['BENCH_ARTIFACT'] ?? 'source';
  if (artifact !== 'source' && artifact !== 'dist' && artifact !== 'sea') throw new Error(`--artifact must be source, dist or sea, got "${artifact}"`);
  productCommand(artifact); // fails early, saying how to build a missing artifact
  const protocol = values.protocol ?? process.env['BENCH_PROTOCOL'] ?? 'h2';
  if (protocol !== 'http1' && protocol !== 'h2') throw new Error(`--protocol must be http1 or h2, got "${protocol}"`);
  const sizes = (values.sizes ?? '100,1000,10000').split(',').map((n) => positiveNumber('sizes', n, 0));
  const s: Settings = {
    artifact,
    protocol,
    sizes,
    templates,
    duration: positiveNumber('duration', values.duration, 4),
    warmup: positiveNumber('warmup', values.warmup, 0.5),
    settle: positiveNumber('settle', values.settle, 2),
    minRequests: positiveNumber('min-requests', values['min-requests'], 5),
  };
  // The GET workloads run on the middle deployment (1 000 workspaces by default).
  const getsAt = [...sizes].sort((a, b) => a - b)[Math.floor((sizes.length - 1) / 2)];

  const dir = await mkdtemp(join(tmpdir(), 'coder-k8s-bench-'));
  const rows: Row[] = [];
  const deployments: Deployment[] = [];
  const peaks: Peak[] = [];
  try {
    const ca = await createCertificateAuthority('bench-client-ca');
    const client = await issueCertificate(ca, { commonName: 'bench-admin', organizations: ['system:masters'], usages: ['client'] });
    const caFile = join(dir, 'client-ca.crt');
    await writeFile(caFile, ca.cert);
    const id: Identity = { caFile, cert: client.cert, key: client.key };
    for (const n of sizes) {
      const stateDir = await mkdtemp(join(dir, `n${n}-`));
      await deployment(s, n, stateDir, id, rows, deployments, peaks, n === getsAt);
    }
  } catch (err) {
    process.stderr.write(`bench/apiserver.ts: ${err instanceof Error ? err.message : String(err)}\n(product logs stay in ${dir})\n`);
    process.exitCode = 1;
    return;
  }
  const targets = report(s, rows, deployments, peaks);
  if (values.json) {
    let commit = '';
    try {
      commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      // not a git checkout
    }
    const result = { date: new Date().toISOString(), commit, node: process.version, settings: s, rows, deployments, peaks, targets };
    await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\nwrote ${values.json}`);
  }
  await rm(dir, { recursive: true, force: true });
}

await main().catch((err: unknown) => {
  process.stderr.write(`bench/apiserver.ts: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
});
