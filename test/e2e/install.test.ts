// Install as a platform team would: `helm install` the chart on the local control plane,
// run the single executable (dist/coder-k8s-linux-x64, no node_modules) as the chart's
// ServiceAccount with the chart's serving certificate — pods cannot run without a kubelet
// here, so the chart's Service is an ExternalName pointing at it — and use the product
// through the installed APIService and RBAC; then upgrade, run the image's bundle
// (dist/coder-k8s.mjs) in its place, and uninstall.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { ROOT, clusterDown, clusterUp, kubectl, mustKubectl, serviceAccountKubeconfig, type ClusterEnv } from '../../hack/lib/cluster.ts';
import { freePort, mustRun, run, terminate, waitFor } from '../../hack/lib/process.ts';
import { startFakeCoder, type FakeCoder } from '../fakes/coderd/index.ts';
import { eventually } from '../util/eventually.ts';
import { serveNamespace } from './control-planes.ts';
import { STACK_TIMEOUT_MS } from './stack.ts';

const NS = 'coder-system';

interface AuditEvent {
  verb: string;
  user: { username: string };
  objectRef?: { apiGroup?: string; resource: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code: number };
}

/**
 * Granted but never asked for here, each for a reason: escalate and bind are checked by
 * kube-apiserver when roles are written, not requested; HTTPRoutes need the Gateway API,
 * which this cluster does not have; the bootstrap needs a Coder without users.
 */
const NOT_ASKED = new Set([
  // Server-side apply of an object that does not exist yet is authorized as create as well
  // (the audit log shows the patch).
  'apps/deployments:create',
  '/services:create',
  '/serviceaccounts:create',
  'networking.k8s.io/ingresses:create',
  'gateway.networking.k8s.io/httproutes:create',
  'rbac.authorization.k8s.io/roles:create',
  'rbac.authorization.k8s.io/rolebindings:create',
  'rbac.authorization.k8s.io/roles:escalate',
  'rbac.authorization.k8s.io/roles:bind',
  'rbac.authorization.k8s.io/rolebindings:escalate',
  'rbac.authorization.k8s.io/rolebindings:bind',
  'gateway.networking.k8s.io/httproutes:patch',
  // Watched only while the Gateway API is served (discovery decides), which it is not here.
  'gateway.networking.k8s.io/httproutes:list',
  'gateway.networking.k8s.io/httproutes:watch',
  // Only a repeated event is patched (its series count); the reconciler e2e checks one.
  'events.k8s.io/events:patch',
  // The operator's REST bootstrap writes the token and first-user Secrets (operator e2e).
  '/secrets:create',
  '/secrets:update',
]);

/** Granted by the system:auth-delegator and extension-apiserver-authentication-reader bindings. */
const DELEGATED = new Set([
  'authentication.k8s.io/tokenreviews:create',
  'authorization.k8s.io/subjectaccessreviews:create',
  '/configmaps:get',
  '/configmaps:list',
  '/configmaps:watch',
]);
const EXECUTABLE = join(ROOT, 'dist', `coder-k8s-${process.platform}-${process.arch}`);
const APISERVICE = 'apiservice/v1alpha1.aggregation.coder.com';

let dir = '';
let cluster: ClusterEnv;
let fake: FakeCoder;
let product: ChildProcess | undefined;
let port = 0;
let metricsUrl = '';
const logFile = () => join(dir, 'coder-k8s.log');

const helm = (args: string[]) => mustRun(cluster.helm, args, { env: { KUBECONFIG: cluster.kubeconfig } });
const k = (args: string[]) => mustKubectl(cluster, args);
const available = async () => (await k(['get', APISERVICE, '-o', 'jsonpath={.status.conditions[?(@.type=="Available")].status}'])).trim();

beforeAll(async () => {
  if (!existsSync(EXECUTABLE) || !existsSync(join(ROOT, 'dist', 'coder-k8s.mjs'))) await mustRun(process.execPath, [join(ROOT, 'hack', 'dist.ts')]);
  dir = await mkdtemp(join(tmpdir(), 'coder-k8s-install-'));
  cluster = await clusterUp(join(dir, 'cluster'));
  fake = await startFakeCoder({ buildTimings: { pendingMs: 20, runningMs: 80 } });
  port = await freePort();
}, STACK_TIMEOUT_MS);

afterAll(async () => {
  if (product?.pid) await terminate(product.pid);
  await fake.close();
  await clusterDown(join(dir, 'cluster'), true).catch(() => undefined);
  if (!process.env.CODER_K8S_E2E_KEEP) await rm(dir, { recursive: true, force: true });
}, STACK_TIMEOUT_MS);

/** The product, as the chart's ServiceAccount, serving the chart's certificate: the single executable, or a command such as the image's. */
async function startExecutable(command: string[] = [EXECUTABLE]): Promise<void> {
  const kubeconfig = await serviceAccountKubeconfig(cluster, NS, 'coder-k8s', dir);
  for (const key of ['tls.crt', 'tls.key']) {
    const data = await k(['get', 'secret', 'coder-k8s-serving-cert', '-n', NS, '-o', `jsonpath={.data.${key.replace('.', '\\.')}}`]);
    await writeFile(join(dir, key), Buffer.from(data, 'base64'), { mode: 0o600 });
  }
  const health = await freePort();
  const metrics = await freePort();
  metricsUrl = `http://127.0.0.1:${metrics}/metrics`;
  const out = openSync(logFile(), 'a');
  const [executable = EXECUTABLE, ...prefix] = command;
  product = spawn(
    executable,
    [
      ...prefix,
      '--app=all',
      '--leader-elect',
      '--leader-election-id=coder-k8s-leader',
      `--kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--tls-cert-file=${join(dir, 'tls.crt')}`,
      `--tls-private-key-file=${join(dir, 'tls.key')}`,
      '--service-name=coder-k8s',
      `--health-probe-bind-address=127.0.0.1:${health}`,
      `--metrics-bind-address=127.0.0.1:${metrics}`,
      '--log-format=text',
    ],
    // A clean environment: no NODE_PATH, no node_modules next to it, cwd elsewhere.
    { cwd: dir, env: { PATH: '/usr/bin:/bin', POD_NAMESPACE: NS }, stdio: ['ignore', out, out] },
  );
  await waitFor('the executable to be ready', async () => {
    const res = await fetch(`http://127.0.0.1:${health}/readyz`).catch(() => undefined);
    return res?.ok ?? false;
  });
}

describe('helm install, the single executable, helm upgrade, the image bundle, helm uninstall', () => {
  it('installs the chart, serves through the installed APIService and RBAC, reconciles a CoderControlPlane and exports metrics', async () => {
    const install = await helm(['install', 'coder-k8s', join(ROOT, 'charts', 'coder-k8s'), '-n', NS, '--create-namespace', '--set', 'apiService.externalName=localhost', '--set', `apiService.port=${port}`]);
    expect(install).toContain('STATUS: deployed');
    // The executable needs nothing around it: no node_modules, no Node on PATH.
    const help = await run(EXECUTABLE, ['--help'], { cwd: dir, env: { PATH: '/nonexistent' } });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--watch-poll-interval');
    await startExecutable();
    await eventually('the APIService to become Available', async () => ((await available()) === 'True' ? true : undefined), 90_000);

    await serveNamespace(cluster, 'team-a', fake);
    const ccp = await k(['get', 'ccp', '-n', 'team-a', 'coder', '-o', 'jsonpath={.status.phase}']);
    expect(ccp).toBe('Ready');
    const templates = await eventually('templates through the APIService', async () => {
      const out = await k(['get', 'codertemplates', '-A']);
      return out.includes('coder.docker') ? out : undefined;
    }, 60_000);
    expect(templates).toMatch(/^NAMESPACE\s+NAME\s+ORGANIZATION/);

    const watch = spawn(cluster.kubectl, ['get', 'coderworkspaces', '-A', '--watch'], { env: { ...process.env, KUBECONFIG: cluster.kubeconfig } });
    let watched = '';
    watch.stdout.setEncoding('utf8').on('data', (chunk: string) => (watched += chunk));
    await eventually('workspaces on the watch', () => Promise.resolve(watched.includes('coder.alice.dev') || undefined), 30_000);
    watch.kill();

    // Deleting through the API confirms the namespace's phase with kube-apiserver first.
    await k(['delete', 'coderworkspace', 'acme.bob.ml', '-n', 'team-a', '--wait=false']);

    const metrics = await (await fetch(metricsUrl)).text();
    expect(metrics).toContain('coder_k8s_eligible_control_planes 1');
    expect(metrics).toContain('coder_k8s_apiserver_requests_total');
    // Every request the product made as the chart's ServiceAccount was allowed.
    const log = await readFile(logFile(), 'utf8');
    expect(log.split('\n').filter((l) => /forbidden/i.test(l))).toEqual([]);
  }, 240_000);

  it('reconciles an in-cluster CoderControlPlane, and cleans up after it, as the chart\'s ServiceAccount', async () => {
    await k(['create', 'namespace', 'apps']);
    await k(['create', 'namespace', 'ws-extra']);
    const ccp = {
      apiVersion: 'coder.com/v1alpha1',
      kind: 'CoderControlPlane',
      metadata: { name: 'coder', namespace: 'apps' },
      spec: { replicas: 1, rbac: { workspaceNamespaces: ['ws-extra'] }, expose: { ingress: { host: 'coder.example.com' } }, operatorAccess: { tokenSecretRef: { name: 'not-there-yet' } } },
    };
    await mustKubectl(cluster, ['apply', '-f', '-'], { input: JSON.stringify(ccp) });
    for (const [kind, ns] of [['deployment', 'apps'], ['service', 'apps'], ['serviceaccount', 'apps'], ['ingress', 'apps'], ['role', 'ws-extra'], ['rolebinding', 'ws-extra']] as const) {
      await eventually(`${kind} in ${ns}`, async () => ((await kubectl(cluster, ['get', kind, '-n', ns, '-l', 'app.kubernetes.io/instance=coder', '-o', 'name'])).stdout.trim() ? true : undefined), 60_000);
    }
    await k(['delete', 'ccp', 'coder', '-n', 'apps', '--wait=true', '--timeout=60s']);
    expect((await k(['get', 'roles,rolebindings', '-n', 'ws-extra', '-o', 'name'])).trim()).toBe('');
  }, 120_000);

  it('grants exactly what the product asked for: nothing it asked was denied, nothing granted went unused', async () => {
    const granted = new Set<string>();
    const manifest = await helm(['get', 'manifest', 'coder-k8s', '-n', NS]);
    for (const doc of parseAllDocuments(manifest)) {
      const m = doc.toJS() as { kind?: string; metadata?: { name?: string }; rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[] } | null;
      if (!m || !['ClusterRole', 'Role'].includes(m.kind ?? '') || m.metadata?.name?.includes(':aggregate-to-')) continue;
      for (const r of m.rules ?? []) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) granted.add(`${g}/${res}:${v}`);
    }
    const asked = new Map<string, number>();
    const denied: string[] = [];
    for (const line of (await readFile(join(dir, 'cluster', 'audit.log'), 'utf8')).split('\n')) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as AuditEvent;
      if (e.user.username !== 'system:serviceaccount:coder-system:coder-k8s' || !e.objectRef) continue;
      const key = `${e.objectRef.apiGroup ?? ''}/${e.objectRef.resource}${e.objectRef.subresource ? `/${e.objectRef.subresource}` : ''}:${e.verb}`;
      asked.set(key, (asked.get(key) ?? 0) + 1);
      if (e.responseStatus?.code === 403) denied.push(`${key} ${e.objectRef.namespace ?? ''}/${e.objectRef.name ?? ''}`);
    }
    expect(denied).toEqual([]);
    const unused = [...granted].filter((g) => !asked.has(g) && !NOT_ASKED.has(g)).sort();
    expect(unused).toEqual([]);
    // Every request is covered by the chart's roles or by the delegated-auth bindings.
    const uncovered = [...asked.keys()].filter((a) => !granted.has(a) && !DELEGATED.has(a)).sort();
    expect(uncovered).toEqual([]);
  });

  it('upgrades keeping the certificate and the APIService Available', async () => {
    const bundle = () => k(['get', APISERVICE, '-o', 'jsonpath={.spec.caBundle}']);
    const before = await bundle();
    await helm(['upgrade', 'coder-k8s', join(ROOT, 'charts', 'coder-k8s'), '-n', NS, '--reuse-values', '--set', 'logLevel=debug']);
    expect(await bundle()).toBe(before);
    // Available right after the upgrade and still a moment later, without restarting the executable.
    expect(await available()).toBe('True');
    const list = await kubectl(cluster, ['get', 'coderworkspaces', '-n', 'team-a', '-o', 'name']);
    expect(list.stdout).toContain('coder.alice.dev');
    expect(await available()).toBe('True');
  }, 120_000);

  it("serves the same from the image's bundle (dist/coder-k8s.mjs and its chunks, nothing else beside them)", async () => {
    if (product?.pid) await terminate(product.pid);
    // As the image has them: the bundle and its chunks, no node_modules anywhere above.
    const image = join(dir, 'image');
    await cp(join(ROOT, 'dist', 'chunks'), join(image, 'chunks'), { recursive: true });
    await cp(join(ROOT, 'dist', 'coder-k8s.mjs'), join(image, 'coder-k8s.mjs'));
    await startExecutable([process.execPath, join(image, 'coder-k8s.mjs')]);
    await waitFor('the APIService to be Available', async () => (await available()) === 'True');
    const list = await kubectl(cluster, ['get', 'coderworkspaces', '-A', '-o', 'name']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('coder.alice.dev');
    expect(await k(['get', 'ccp', 'coder', '-n', 'team-a', '-o', 'jsonpath={.status.conditions[?(@.type=="Eligible")].status}'])).toBe('True');
  }, 120_000);

  it('uninstalls everything but the CRDs, and leaves Coder alone', async () => {
    const before = fake.state.workspaces.size;
    await helm(['uninstall', 'coder-k8s', '-n', NS, '--wait']);
    expect((await kubectl(cluster, ['get', APISERVICE])).code).not.toBe(0);
    for (const kind of ['clusterrole/coder-k8s', 'clusterrolebinding/coder-k8s', 'clusterrolebinding/coder-k8s:system:auth-delegator']) {
      expect((await kubectl(cluster, ['get', kind])).code).not.toBe(0);
    }
    expect((await kubectl(cluster, ['get', 'rolebinding', 'coder-k8s:extension-apiserver-authentication-reader', '-n', 'kube-system'])).code).not.toBe(0);
    const left = await k(['get', 'all,secrets,serviceaccounts,roles,rolebindings,poddisruptionbudgets', '-n', NS, '-l', 'app.kubernetes.io/instance=coder-k8s', '-o', 'name']);
    expect(left.trim()).toBe('');
    expect((await k(['get', 'crd', '-o', 'name'])).split('\n').filter((l) => l.includes('coder.com'))).toHaveLength(3);
    expect((await k(['get', 'ccp', '-n', 'team-a', '-o', 'name'])).trim()).toBe('codercontrolplane.coder.com/coder');
    expect(fake.state.workspaces.size).toBe(before);
  }, 120_000);
});
