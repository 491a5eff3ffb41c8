// One real stack per e2e file: kube-apiserver + etcd + kube-controller-manager on
// loopback, the fake Coder in this process (so tests can use its knobs), coder-k8s as a
// separate process reached through the APIService.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll } from '@jest/globals';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterDown, kubectl, mustKubectl, type ClusterEnv } from '../../hack/lib/cluster.ts';
import { terminate } from '../../hack/lib/process.ts';
import { startStack, type Stack } from '../../hack/lib/stack.ts';
import { startFakeCoder, type FakeCoder } from '../fakes/coderd/index.ts';

export const NAMESPACE = 'coder';
/** Starting or stopping a stack: control plane, product, APIService availability. */
export const STACK_TIMEOUT_MS = 180_000;

/**
 * Stops a stack's product and control plane and removes its directory. A failure is
 * reported, not swallowed: a control plane left running would outlive the test run.
 */
export async function stopStack(stack: Stack | undefined, dir: string): Promise<void> {
  // A stack that failed to start has stopped what it started (startStack).
  if (stack) {
    await terminate(stack.product.pid);
    await clusterDown(stack.cluster.stateDir, true).catch((err: unknown) => {
      console.warn(`could not stop the control plane in ${stack.cluster.stateDir}: ${err instanceof Error ? err.message : String(err)}`);
    });
  }
  if (!process.env.CODER_K8S_E2E_KEEP) await rm(dir, { recursive: true, force: true });
}

export interface E2E extends Stack {
  fake: FakeCoder;
  dir: string;
  /** Runs the pinned kubectl as cluster admin (or another kubeconfig). */
  kubectl(args: string[], options?: { input?: string; kubeconfig?: string }): ReturnType<typeof kubectl>;
  mustKubectl(args: string[], options?: { input?: string; kubeconfig?: string }): Promise<string>;
  stop(): Promise<void>;
}

export async function startE2E(productFlags: string[] = []): Promise<E2E> {
  const dir = await mkdtemp(join(tmpdir(), 'coder-k8s-e2e-'));
  const fake = await startFakeCoder({ buildTimings: { pendingMs: 20, runningMs: 80 } });
  const tokenFile = join(dir, 'coder-token');
  await writeFile(tokenFile, fake.adminToken, { mode: 0o600 });
  let stack: Stack;
  try {
    stack = await startStack({ stateDir: dir, mode: { kind: 'static', coderUrl: fake.url, coderTokenFile: tokenFile }, namespaces: [NAMESPACE], productFlags });
  } catch (err) {
    await clusterDown(join(dir, 'cluster'), true).catch(() => undefined);
    await fake.close();
    throw err;
  }
  const cluster: ClusterEnv = stack.cluster;
  return {
    ...stack,
    fake,
    dir,
    kubectl: (args, options) => kubectl(cluster, args, options),
    mustKubectl: (args, options) => mustKubectl(cluster, args, options),
    async stop() {
      await stopStack(stack, dir);
      await fake.close();
    },
  };
}

/**
 * Starts one stack for the calling test file (beforeAll) and stops it (afterAll). The
 * returned object is filled in once the stack is up, so tests use it as a plain E2E.
 */
export function useE2E(
  hooks: { setup?: (e: E2E) => Promise<void>; teardown?: () => Promise<void>; productFlags?: string[] } = {},
): E2E {
  const e = {} as E2E;
  beforeAll(async () => {
    Object.assign(e, await startE2E(hooks.productFlags));
    await hooks.setup?.(e);
  }, STACK_TIMEOUT_MS);
  afterAll(async () => {
    await hooks.teardown?.();
    await e.stop();
  }, STACK_TIMEOUT_MS);
  return e;
}

/** A client-node client of the cluster, as applications use one (cluster admin). */
export async function clusterClient(kubeconfig: string) {
  const { KubeConfig, CustomObjectsApi } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return { kc, api: kc.makeApiClient(CustomObjectsApi) };
}
