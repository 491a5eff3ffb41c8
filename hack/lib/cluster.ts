// The local control plane (hack/local-cluster.sh) seen from TypeScript: start/stop it,
// run the pinned kubectl against it, and install what coder-k8s needs into it.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { mustRun, run, waitFor, type RunResult } from './process.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
const HACK = join(ROOT, 'hack');

export interface ClusterEnv {
  stateDir: string;
  kubeconfig: string;
  kubectl: string;
  helm: string;
  apiserverUrl: string;
  clusterCA: string;
}

async function clusterScript(stateDir: string, args: string[]): Promise<string> {
  return mustRun(join(HACK, 'local-cluster.sh'), args, { env: { CODER_K8S_CLUSTER_DIR: stateDir } });
}

export async function clusterEnv(stateDir: string): Promise<ClusterEnv> {
  const vars: Record<string, string> = {};
  for (const line of (await clusterScript(stateDir, ['env'])).split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m?.[1]) vars[m[1]] = (m[2] ?? '').replace(/^'(.*)'$/, '$1');
  }
  const need = (k: string) => {
    const v = vars[k];
    if (!v) throw new Error(`hack/local-cluster.sh env did not print ${k}`);
    return v;
  };
  return {
    stateDir,
    kubeconfig: need('KUBECONFIG'),
    kubectl: need('CODER_K8S_KUBECTL'),
    helm: need('CODER_K8S_HELM'),
    apiserverUrl: need('CODER_K8S_APISERVER_URL'),
    clusterCA: need('CODER_K8S_CLUSTER_CA'),
  };
}

export async function clusterUp(stateDir: string): Promise<ClusterEnv> {
  await clusterScript(stateDir, ['up']);
  return clusterEnv(stateDir);
}

export async function clusterDown(stateDir: string, purge = false): Promise<void> {
  await clusterScript(stateDir, purge ? ['down', '--purge'] : ['down']);
}

export function kubectl(env: ClusterEnv, args: string[], options: { input?: string; kubeconfig?: string } = {}): Promise<RunResult> {
  return run(env.kubectl, args, { input: options.input, env: { KUBECONFIG: options.kubeconfig ?? env.kubeconfig } });
}

export async function mustKubectl(env: ClusterEnv, args: string[], options: { input?: string; kubeconfig?: string } = {}): Promise<string> {
  const result = await kubectl(env, args, options);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

export const PRODUCT_NAMESPACE = 'coder-system';
export const PRODUCT_SERVICE = 'coder-k8s';
export const APISERVICE = 'v1alpha1.aggregation.coder.com';

/**
 * RBAC for coder-k8s (config/rbac) and a kubeconfig that authenticates as its
 * ServiceAccount with a TokenRequest token, so the product runs with exactly the rights
 * the manifests grant.
 */
export async function installProductAccess(env: ClusterEnv, dir: string): Promise<string> {
  await mustKubectl(env, ['create', 'namespace', PRODUCT_NAMESPACE, '--dry-run=client', '-o', 'yaml'], {}).then((yaml) =>
    mustKubectl(env, ['apply', '-f', '-'], { input: yaml }),
  );
  await mustKubectl(env, ['apply', '-f', join(ROOT, 'config', 'rbac')]);
  await waitForAggregatedRoles(env);
  return serviceAccountKubeconfig(env, PRODUCT_NAMESPACE, 'coder-k8s', dir);
}

/** A kubeconfig that authenticates as a ServiceAccount with a TokenRequest token (48 h). */
export async function serviceAccountKubeconfig(env: ClusterEnv, namespace: string, name: string, dir: string): Promise<string> {
  const token = (await mustKubectl(env, ['create', 'token', name, '-n', namespace, '--duration=48h'])).trim();
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: env.apiserverUrl, 'certificate-authority': env.clusterCA } }],
    users: [{ name, user: { token } }],
    contexts: [{ name, context: { cluster: 'local', user: name } }],
    'current-context': name,
  };
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.kubeconfig`);
  await writeFile(path, stringify(kubeconfig), { mode: 0o600 });
  return path;
}

interface ClusterRole {
  rules?: { apiGroups?: string[]; resources?: string[] }[];
}

/**
 * Waits until kube-controller-manager's clusterrole-aggregation controller has copied the
 * product's aggregate-to-* rules into the built-in view, edit and admin ClusterRoles.
 */
export async function waitForAggregatedRoles(env: ClusterEnv): Promise<void> {
  for (const role of ['view', 'edit', 'admin']) {
    await waitFor(`ClusterRole ${role} to aggregate the coder-k8s rules`, async () => {
      const res = await kubectl(env, ['get', 'clusterrole', role, '-o', 'json']);
      if (res.code !== 0) return false;
      const rules = (JSON.parse(res.stdout) as ClusterRole).rules ?? [];
      return rules.some((r) => r.apiGroups?.includes('aggregation.coder.com'));
    });
  }
}

/**
 * Registers the out-of-cluster product: an ExternalName Service pointing at localhost
 * (kube-apiserver dials localhost:<port>) and the APIService with the serving CA as its
 * caBundle; the serving certificate is valid for coder-k8s.coder-system.svc.
 */
export async function registerAPIService(env: ClusterEnv, port: number, caFile: string): Promise<void> {
  const caBundle = Buffer.from(await readFile(caFile)).toString('base64');
  const manifests = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: PRODUCT_SERVICE, namespace: PRODUCT_NAMESPACE },
      spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ name: 'https', port, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: APISERVICE },
      spec: {
        group: 'aggregation.coder.com',
        version: 'v1alpha1',
        groupPriorityMinimum: 1000,
        versionPriority: 15,
        service: { name: PRODUCT_SERVICE, namespace: PRODUCT_NAMESPACE, port },
        caBundle,
      },
    },
  ];
  await mustKubectl(env, ['apply', '-f', '-'], { input: manifests.map((m) => stringify(m)).join('---\n') });
}

export async function apiServiceAvailable(env: ClusterEnv): Promise<boolean> {
  const out = await kubectl(env, ['get', 'apiservice', APISERVICE, '-o', 'jsonpath={.status.conditions[?(@.type=="Available")].status}']);
  return out.code === 0 && out.stdout.trim() === 'True';
}

export async function waitForAPIService(env: ClusterEnv, timeoutMs = 90_000): Promise<void> {
  await waitFor(`APIService ${APISERVICE} to become Available`, () => apiServiceAvailable(env), timeoutMs);
}

/**
 * Waits until `kubectl explain` knows the aggregated kinds: kube-apiserver fetches an
 * APIService's OpenAPI document asynchronously, after the APIService becomes Available.
 */
export async function waitForOpenAPI(env: ClusterEnv, timeoutMs = 120_000): Promise<void> {
  for (const resource of ['codertemplates', 'coderworkspaces']) {
    await waitFor(`kubectl explain ${resource}`, async () => (await kubectl(env, ['explain', `${resource}.spec`])).code === 0, timeoutMs);
  }
}
