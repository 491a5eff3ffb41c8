// `make dev` / `make dev-down`: a local control plane (etcd + kube-apiserver), the fake
// Coder and coder-k8s registered through an APIService, all detached, with state and logs
// under .dev/ and an admin kubeconfig at .dev/kubeconfig.
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, clusterDown, mustKubectl } from './lib/cluster.ts';
import { alive, freePort, startLogged, terminate, waitFor } from './lib/process.ts';
import { startStack } from './lib/stack.ts';

const DEV = join(ROOT, '.dev');
const NAMESPACE = 'coder';
const PID_FILES = { product: join(DEV, 'coder-k8s.pid'), fake: join(DEV, 'fake-coder.pid') };

async function readPid(file: string): Promise<number | undefined> {
  if (!existsSync(file)) return undefined;
  const pid = Number((await readFile(file, 'utf8')).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function startFakeCoder(): Promise<{ url: string; tokenFile: string; pid: number }> {
  const readyFile = join(DEV, 'fake-coder.json');
  const tokenFile = join(DEV, 'coder-token');
  await rm(readyFile, { force: true });
  const child = startLogged(
    process.execPath,
    [
      join(ROOT, 'test/fakes/coderd/main.ts'),
      '--port',
      String(await freePort()),
      '--seed',
      'default',
      '--admin-token-file',
      tokenFile,
      '--ready-file',
      readyFile,
    ],
    join(DEV, 'fake-coder.log'),
    { detached: true, cwd: ROOT },
  );
  if (!child.pid) throw new Error('could not start the fake Coder');
  await writeFile(PID_FILES.fake, String(child.pid));
  await waitFor('the fake Coder', () => Promise.resolve(existsSync(readyFile)));
  const { url } = JSON.parse(await readFile(readyFile, 'utf8')) as { url: string };
  return { url, tokenFile, pid: child.pid };
}

async function up(): Promise<void> {
  await mkdir(DEV, { recursive: true });
  for (const [name, file] of Object.entries(PID_FILES)) {
    const pid = await readPid(file);
    if (pid && alive(pid)) {
      console.log(`${name} is already running (pid ${pid}); \`make dev-down\` first to restart. KUBECONFIG=.dev/kubeconfig`);
      return;
    }
  }
  const started = Date.now();
  const fake = await startFakeCoder();
  const stack = await startStack({
    stateDir: DEV,
    mode: { kind: 'static', coderUrl: fake.url, coderTokenFile: fake.tokenFile },
    namespaces: [NAMESPACE],
    detached: true,
  });
  await writeFile(PID_FILES.product, String(stack.product.pid));
  const kubeconfig = join(DEV, 'kubeconfig');
  await copyFile(stack.cluster.kubeconfig, kubeconfig);
  await mustKubectl(stack.cluster, ['config', 'set-context', '--current', `--namespace=${NAMESPACE}`], { kubeconfig });

  console.log(`coder-k8s dev environment is up (${((Date.now() - started) / 1000).toFixed(1)}s):
  kube-apiserver  ${stack.cluster.apiserverUrl}   (state and logs in .dev/cluster/)
  fake Coder      ${fake.url}   (pid ${fake.pid}, token in .dev/coder-token, log .dev/fake-coder.log)
  coder-k8s       https://127.0.0.1:${stack.product.securePort}   (pid ${stack.product.pid}, log .dev/product/coder-k8s.log)
                  registered as APIService v1alpha1.aggregation.coder.com (Available)
  metrics         ${stack.product.metricsUrl}
  kubectl         ${stack.cluster.kubectl}
  kubeconfig      .dev/kubeconfig (cluster admin, namespace "${NAMESPACE}")

Try:
  export KUBECONFIG=$PWD/.dev/kubeconfig
  kubectl get codertemplates -A
  kubectl get coderworkspaces -n ${NAMESPACE} -o wide
  kubectl apply -f config/samples/codertemplate.yaml
  kubectl explain codertemplates.spec
Stop with: make dev-down`);
}

async function down(): Promise<void> {
  for (const [name, file] of Object.entries(PID_FILES)) {
    const pid = await readPid(file);
    if (pid && alive(pid)) {
      await terminate(pid);
      console.log(`stopped ${name} (pid ${pid})`);
    }
    await rm(file, { force: true });
  }
  if (existsSync(join(DEV, 'cluster'))) {
    await clusterDown(join(DEV, 'cluster'));
    console.log('stopped the local control plane');
  }
}

const command = process.argv[2];
if (command === 'up') await up();
else if (command === 'down') await down();
else {
  console.error('usage: node hack/dev.ts up|down');
  process.exitCode = 2;
}
