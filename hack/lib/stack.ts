// The whole local stack: control plane + coder-k8s registered through an APIService.
// Used by `make dev` (detached, survives the command) and the e2e tests (attached).
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  PRODUCT_NAMESPACE,
  PRODUCT_SERVICE,
  ROOT,
  clusterDown,
  clusterUp,
  installProductAccess,
  mustKubectl,
  registerAPIService,
  waitForAPIService,
  type ClusterEnv,
} from './cluster.ts';
import { freePort, startLogged, terminate, waitFor } from './process.ts';

export interface ProductProcess {
  child: ChildProcess;
  pid: number;
  securePort: number;
  healthUrl: string;
  metricsUrl: string;
  certDir: string;
  logFile: string;
  kubeconfig: string;
}

/** Static: one Coder pinned to one namespace; operator: --app=all over CoderControlPlanes. */
export type ProductMode = { kind: 'static'; coderUrl: string; coderTokenFile: string; namespace: string } | { kind: 'operator' };

export interface ProductOptions {
  stateDir: string;
  cluster: ClusterEnv;
  mode: ProductMode;
  detached?: boolean;
  extraFlags?: string[];
  /** Reuse a port (a restarted product keeps its APIService registration valid). */
  securePort?: number;
}

/** Starts coder-k8s as its own process with the ServiceAccount's kubeconfig (delegated authn/authz). */
export async function startProduct(o: ProductOptions): Promise<ProductProcess> {
  await mkdir(o.stateDir, { recursive: true });
  const kubeconfig = await installProductAccess(o.cluster, o.stateDir);
  const securePort = o.securePort ?? (await freePort());
  const healthPort = await freePort();
  const metricsPort = await freePort();
  const certDir = join(o.stateDir, 'serving');
  const logFile = join(o.stateDir, 'coder-k8s.log');
  const child = startLogged(
    process.execPath,
    [
      join(ROOT, 'cmd', 'coder-k8s', 'main.ts'),
      ...(o.mode.kind === 'static'
        ? [
            '--app=aggregated-apiserver',
            `--coder-url=${o.mode.coderUrl}`,
            `--coder-session-token-file=${o.mode.coderTokenFile}`,
            `--coder-namespace=${o.mode.namespace}`,
          ]
        : ['--app=all', '--leader-elect']),
      `--kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${securePort}`,
      `--cert-dir=${certDir}`,
      `--service-name=${PRODUCT_SERVICE}`,
      `--service-namespace=${PRODUCT_NAMESPACE}`,
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      '--log-format=text',
      // Every request in the log (successful ones are logged at debug): tests and developers read it.
      '--log-level=debug',
      ...(o.extraFlags ?? []),
    ],
    logFile,
    { detached: o.detached ?? false, cwd: ROOT },
  );
  const pid = child.pid;
  if (!pid) throw new Error('could not start coder-k8s');
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  try {
    await waitFor('coder-k8s /readyz', async () => {
      if (exited) throw new Error(`coder-k8s exited; see ${logFile}`);
      return (await fetch(`${healthUrl}/readyz`)).ok;
    });
  } catch (err) {
    // A product that never became ready must not outlive the caller.
    await terminate(pid);
    throw err;
  }
  return { child, pid, securePort, healthUrl, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, certDir, logFile, kubeconfig };
}

export interface StackOptions {
  stateDir: string;
  /** Static mode pinned to the first namespace, or the operator over CoderControlPlanes. */
  mode: { kind: 'static'; coderUrl: string; coderTokenFile: string } | { kind: 'operator' };
  namespaces: string[];
  detached?: boolean;
  productFlags?: string[];
}

export interface Stack {
  cluster: ClusterEnv;
  product: ProductProcess;
}

/**
 * Control plane up, coder-k8s started and registered, APIService Available. On failure,
 * whatever was started is stopped again (the state directory stays, for its logs).
 */
export async function startStack(o: StackOptions): Promise<Stack> {
  const cluster = await clusterUp(join(o.stateDir, 'cluster'));
  try {
    return { cluster, product: await startStackProduct(o, cluster) };
  } catch (err) {
    await clusterDown(cluster.stateDir).catch(() => undefined);
    throw err;
  }
}

async function startStackProduct(o: StackOptions, cluster: ClusterEnv): Promise<ProductProcess> {
  for (const ns of o.namespaces) {
    const yaml = await mustKubectl(cluster, ['create', 'namespace', ns, '--dry-run=client', '-o', 'yaml']);
    await mustKubectl(cluster, ['apply', '-f', '-'], { input: yaml });
  }
  await mustKubectl(cluster, ['apply', '-f', join(ROOT, 'config', 'crd')]);
  await mustKubectl(cluster, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  const product = await startProduct({
    stateDir: join(o.stateDir, 'product'),
    cluster,
    mode: o.mode.kind === 'static' ? { ...o.mode, namespace: o.namespaces[0] ?? 'coder' } : o.mode,
    ...(o.detached !== undefined ? { detached: o.detached } : {}),
    ...(o.productFlags ? { extraFlags: o.productFlags } : {}),
  });
  try {
    await registerAPIService(cluster, product.securePort, join(product.certDir, 'ca.crt'));
    await waitForAPIService(cluster);
  } catch (err) {
    await terminate(product.pid);
    throw err;
  }
  return product;
}
