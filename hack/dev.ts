// `make dev` / `make dev-down`: runs the fake Coder and coder-k8s locally, detached, with
// logs and state under .dev/, and writes .dev/kubeconfig for kubectl.
import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { createCertificateAuthority, issueCertificate } from '../pkg/certs/certs.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DEV = join(ROOT, '.dev');
const NODE = process.execPath;
const NAMESPACE = 'coder';

interface Proc {
  name: string;
  pidFile: string;
}

const PROCS: Proc[] = [
  { name: 'coder-k8s', pidFile: join(DEV, 'coder-k8s.pid') },
  { name: 'fake-coder', pidFile: join(DEV, 'fake-coder.pid') },
];

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => {
        resolvePort(port);
      });
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function readPid(file: string): Promise<number | undefined> {
  if (!existsSync(file)) return undefined;
  const pid = Number((await readFile(file, 'utf8')).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function start(name: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  const log = openSync(join(DEV, `${name}.log`), 'a');
  const child = spawn(NODE, args, { cwd: ROOT, detached: true, stdio: ['ignore', log, log], env: { ...process.env, ...env } });
  child.unref();
  if (!child.pid) throw new Error(`could not start ${name}`);
  return child.pid;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
  throw new Error(`timed out waiting for ${what}; see the logs under .dev/`);
}

async function pki(): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const dir = join(DEV, 'pki');
  const files = { caFile: join(dir, 'client-ca.crt'), certFile: join(dir, 'admin.crt'), keyFile: join(dir, 'admin.key') };
  if (existsSync(files.keyFile)) return files;
  await mkdir(dir, { recursive: true });
  const ca = await createCertificateAuthority('coder-k8s-dev-client-ca');
  const admin = await issueCertificate(ca, { commonName: 'dev-admin', organizations: ['system:masters'], usages: ['client'] });
  await writeFile(files.caFile, ca.cert);
  await writeFile(join(dir, 'client-ca.key'), ca.key, { mode: 0o600 });
  await writeFile(files.certFile, admin.cert);
  await writeFile(files.keyFile, admin.key, { mode: 0o600 });
  return files;
}

async function up(): Promise<void> {
  await mkdir(DEV, { recursive: true });
  for (const p of PROCS) {
    const pid = await readPid(p.pidFile);
    if (pid && alive(pid)) {
      console.log(`${p.name} is already running (pid ${pid}); run \`make dev-down\` first to restart.`);
      return;
    }
  }
  const certs = await pki();

  const readyFile = join(DEV, 'fake-coder.json');
  const tokenFile = join(DEV, 'coder-token');
  await rm(readyFile, { force: true });
  const fakePid = start('fake-coder', [
    'test/fakes/coderd/main.ts',
    '--port', String(await freePort()),
    '--seed', 'default',
    '--admin-token-file', tokenFile,
    '--ready-file', readyFile,
  ]);
  await writeFile(join(DEV, 'fake-coder.pid'), String(fakePid));
  await waitFor('the fake Coder', () => Promise.resolve(existsSync(readyFile)));
  const { url: coderUrl } = JSON.parse(await readFile(readyFile, 'utf8')) as { url: string };

  const securePort = await freePort();
  const healthPort = await freePort();
  const metricsPort = await freePort();
  const servingDir = join(DEV, 'serving');
  const productPid = start('coder-k8s', [
    'cmd/coder-k8s/main.ts',
    '--app=aggregated-apiserver',
    `--coder-url=${coderUrl}`,
    `--coder-session-token-file=${tokenFile}`,
    `--coder-namespace=${NAMESPACE}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${securePort}`,
    `--cert-dir=${servingDir}`,
    `--client-ca-file=${certs.caFile}`,
    `--health-probe-bind-address=127.0.0.1:${healthPort}`,
    `--metrics-bind-address=127.0.0.1:${metricsPort}`,
    '--log-format=text',
  ]);
  await writeFile(join(DEV, 'coder-k8s.pid'), String(productPid));
  await waitFor('coder-k8s /readyz', async () => {
    if (!alive(productPid)) throw new Error('coder-k8s exited; see .dev/coder-k8s.log');
    return (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok;
  });

  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'coder-k8s-dev', cluster: { server: `https://127.0.0.1:${securePort}`, 'certificate-authority': join(servingDir, 'ca.crt') } }],
    users: [{ name: 'dev-admin', user: { 'client-certificate': certs.certFile, 'client-key': certs.keyFile } }],
    contexts: [{ name: 'coder-k8s-dev', context: { cluster: 'coder-k8s-dev', user: 'dev-admin', namespace: NAMESPACE } }],
    'current-context': 'coder-k8s-dev',
  };
  await writeFile(join(DEV, 'kubeconfig'), stringify(kubeconfig), { mode: 0o600 });
  await writeFile(join(DEV, 'env'), `CODER_URL=${coderUrl}\nAPISERVER=https://127.0.0.1:${securePort}\nHEALTH=http://127.0.0.1:${healthPort}\nMETRICS=http://127.0.0.1:${metricsPort}/metrics\n`);

  console.log(`coder-k8s dev environment is up:
  fake Coder      ${coderUrl}   (pid ${fakePid}, token in .dev/coder-token, log .dev/fake-coder.log)
  coder-k8s       https://127.0.0.1:${securePort}   (pid ${productPid}, log .dev/coder-k8s.log)
  metrics         http://127.0.0.1:${metricsPort}/metrics
  health          http://127.0.0.1:${healthPort}/readyz
  kubeconfig      .dev/kubeconfig (namespace "${NAMESPACE}")

Try:
  kubectl --kubeconfig .dev/kubeconfig get codertemplates -n ${NAMESPACE}
  kubectl --kubeconfig .dev/kubeconfig get coderworkspaces -n ${NAMESPACE} -o wide
  kubectl --kubeconfig .dev/kubeconfig apply -f config/samples/codertemplate.yaml
Stop with: make dev-down`);
}

async function down(): Promise<void> {
  for (const p of PROCS) {
    const pid = await readPid(p.pidFile);
    if (pid && alive(pid)) {
      process.kill(pid, 'SIGTERM');
      await waitFor(`${p.name} to exit`, () => Promise.resolve(!alive(pid)), 30_000).catch(() => {
        process.kill(pid, 'SIGKILL');
      });
      console.log(`stopped ${p.name} (pid ${pid})`);
    }
    await rm(p.pidFile, { force: true });
  }
}

const command = process.argv[2];
if (command === 'up') await up();
else if (command === 'down') await down();
else {
  console.error('usage: node hack/dev.ts up|down');
  process.exitCode = 2;
}
