// `make dev` / `make dev-down`: a local control plane (etcd + kube-apiserver +
// kube-controller-manager), the fake Coders and coder-k8s registered through an
// APIService, all detached, with state and logs under .dev/ and an admin kubeconfig at
// .dev/kubeconfig. REAL_CODER=1 adds namespace "real", served by a real coderd
// (hack/lib/real-coder.ts, recorded in .dev/real-coder.json as `node hack/real-coder.ts` does).
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, clusterDown, mustKubectl, waitForOpenAPI } from './lib/cluster.ts';
import { stringify } from 'yaml';
import { alive, freePort, startLogged, terminate, waitFor } from './lib/process.ts';
import { readRecordedRealCoder, recordRealCoder, startRealCoder, stopRecordedRealCoder, type RealCoderState } from './lib/real-coder.ts';
import { startStack } from './lib/stack.ts';

const DEV = join(ROOT, '.dev');
/** One Coder deployment (a fake) per namespace, each registered by a CoderControlPlane. */
const TEAMS = ['team-a', 'team-b'];
const PID_FILES: Record<string, string> = {
  product: join(DEV, 'coder-k8s.pid'),
  ...Object.fromEntries(TEAMS.map((t) => [`fake-coder-${t}`, join(DEV, `fake-coder-${t}.pid`)])),
};

const REAL_CODER = process.env.REAL_CODER === '1';
const REAL_NAMESPACE = 'real';

async function readPid(file: string): Promise<number | undefined> {
  if (!existsSync(file)) return undefined;
  const pid = Number((await readFile(file, 'utf8')).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function startFakeCoder(team: string): Promise<{ url: string; tokenFile: string; pid: number }> {
  const readyFile = join(DEV, `fake-coder-${team}.json`);
  const tokenFile = join(DEV, `coder-token-${team}`);
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
    join(DEV, `fake-coder-${team}.log`),
    { detached: true, cwd: ROOT },
  );
  if (!child.pid) throw new Error('could not start the fake Coder');
  await writeFile(join(DEV, `fake-coder-${team}.pid`), String(child.pid));
  await waitFor('the fake Coder', () => Promise.resolve(existsSync(readyFile)));
  const { url } = JSON.parse(await readFile(readyFile, 'utf8')) as { url: string };
  return { url, tokenFile, pid: child.pid };
}

async function up(): Promise<void> {
  await mkdir(DEV, { recursive: true });
  const running: string[] = [];
  const stopped: string[] = [];
  for (const [name, file] of Object.entries(PID_FILES)) {
    const pid = await readPid(file);
    (pid && alive(pid) ? running : stopped).push(name);
  }
  const recorded = await readRecordedRealCoder();
  if (REAL_CODER || recorded) (recorded && alive(recorded.coderPid) ? running : stopped).push('real-coder');
  if (stopped.length === 0) {
    console.log(`the dev environment is already running (${running.join(', ')}); \`make dev-down\` first to restart. KUBECONFIG=.dev/kubeconfig`);
    return;
  }
  // Part of it stopped (a process killed or crashed): start the whole environment afresh.
  if (running.length > 0) {
    console.log(`${stopped.join(', ')} not running: restarting the dev environment`);
    await down();
  }
  const started = Date.now();
  const fakes = new Map<string, { url: string; tokenFile: string; pid: number }>();
  for (const team of TEAMS) fakes.set(team, await startFakeCoder(team));
  const coders = new Map([...fakes].map(([team, f]) => [team, { url: f.url, tokenFile: f.tokenFile }]));
  let real: RealCoderState | undefined;
  if (REAL_CODER) {
    // Its data stays in a temp dir: as root, PostgreSQL runs as another user, who may not
    // reach a directory inside this clone.
    const state = await recordRealCoder(await startRealCoder({ detached: true }));
    real = state;
    const tokenFile = join(DEV, `coder-token-${REAL_NAMESPACE}`);
    await writeFile(tokenFile, state.token, { mode: 0o600 });
    coders.set(REAL_NAMESPACE, { url: state.url, tokenFile });
  }
  const namespaces = [...coders.keys()];
  const stack = await startStack({ stateDir: DEV, mode: { kind: 'operator' }, namespaces, detached: true });
  await writeFile(PID_FILES.product ?? '', String(stack.product.pid));
  for (const [team, fake] of coders) {
    const token = (await readFile(fake.tokenFile, 'utf8')).trim();
    const secret = await mustKubectl(stack.cluster, ['create', 'secret', 'generic', 'coder-operator', '-n', team, `--from-literal=token=${token}`, '--dry-run=client', '-o', 'yaml']);
    await mustKubectl(stack.cluster, ['apply', '-f', '-'], { input: secret });
    const ccp = stringify({
      apiVersion: 'coder.com/v1alpha1',
      kind: 'CoderControlPlane',
      metadata: { name: 'coder', namespace: team },
      spec: { external: { url: fake.url }, operatorAccess: { tokenSecretRef: { name: 'coder-operator' } } },
    });
    await mustKubectl(stack.cluster, ['apply', '-f', '-'], { input: ccp });
  }
  for (const team of namespaces) {
    await waitFor(`CoderControlPlane ${team}/coder to become eligible`, async () => {
      const out = await mustKubectl(stack.cluster, ['get', 'ccp', 'coder', '-n', team, '-o', 'jsonpath={.status.conditions[?(@.type=="Eligible")].status}']);
      return out.trim() === 'True';
    });
  }
  await waitForOpenAPI(stack.cluster);
  const kubeconfig = join(DEV, 'kubeconfig');
  await copyFile(stack.cluster.kubeconfig, kubeconfig);
  await mustKubectl(stack.cluster, ['config', 'set-context', '--current', `--namespace=${TEAMS[0] ?? 'default'}`], { kubeconfig });

  const fakeLines = [
    ...[...fakes].map(([team, f]) => `  fake Coder      ${f.url}   (${team}; pid ${f.pid}, log .dev/fake-coder-${team}.log)`),
    ...(real ? [`  real Coder      ${real.url}   (${REAL_NAMESPACE}; coderd v2.30.0 AGPL, pid ${real.coderPid}, log ${real.logFile}; owner token in .dev/real-coder.json)`] : []),
  ].join('\n');
  console.log(`coder-k8s dev environment is up (${((Date.now() - started) / 1000).toFixed(1)}s):
  kube-apiserver  ${stack.cluster.apiserverUrl}   (with etcd and kube-controller-manager; state and logs in .dev/cluster/)
${fakeLines}
  coder-k8s       --app=all --leader-elect, https://127.0.0.1:${stack.product.securePort}   (pid ${stack.product.pid}, log .dev/product/coder-k8s.log)
                  registered as APIService v1alpha1.aggregation.coder.com (Available)
                  CoderControlPlane "coder" in ${namespaces.join(', ')}, each pointing at its Coder
  metrics         ${stack.product.metricsUrl}
  kubectl         ${stack.cluster.kubectl}
  kubeconfig      .dev/kubeconfig (cluster admin, namespace "${TEAMS[0] ?? ''}")

Try:
  export KUBECONFIG=$PWD/.dev/kubeconfig
  kubectl get ccp -A
  kubectl get codertemplates -A
  kubectl get coderworkspaces -A -o wide
  kubectl apply -f config/samples/codertemplate.yaml
  kubectl explain codertemplates.spec
  kubectl get coderworkspaces -A --watch --output-watch-events
  kubectl wait --for=condition=Ready coderworkspace/coder.alice.dev
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
  const real = await stopRecordedRealCoder();
  if (real) {
    console.log(`stopped the real Coder (pid ${real.coderPid}) and removed ${real.dataDir}`);
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
