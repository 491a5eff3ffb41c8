import type { Manager } from '../controller/manager.ts';
import { healthHandler } from '../health/server.ts';
import { inCluster } from '../kube/in-cluster.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { metricsHandler } from '../metrics/server.ts';
import type { NamespaceLifecycle } from '../namespaces/lifecycle.ts';
import { close, listen, parseBindAddress } from '../util/address.ts';
import { coderObserver, startAPIServer, staticResolver, type RunningAPIServer } from './aggregated-apiserver.ts';
import { isStaticMode, leaderElectionTiming, type Options } from './options.ts';
import { VERSION } from './version.ts';

/**
 * Runs the process until SIGTERM/SIGINT:
 * - all: informers + eligibility cache + reconcilers (leader-elected) + the API server;
 * - controller: informers + reconcilers;
 * - aggregated-apiserver: the API server, its namespaces from the eligibility cache (read
 *   only) or, with --coder-url, from one pinned Coder deployment.
 * Shutdown drops readiness, stops the reconcilers and releases the Lease, keeps serving for
 * --shutdown-delay-duration, ends watches, drains requests, exits.
 */
export async function run(o: Options, logger: Logger = createLogger({ level: o.logLevel, format: o.logFormat })): Promise<void> {
  logger.info('starting coder-k8s', { version: VERSION, app: o.app, node: process.version });
  let shuttingDown = false;
  let hurry: () => void = () => undefined;
  const hurried = new Promise<void>((resolve) => (hurry = resolve));
  const stopped = new Promise<string>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.on(signal, () => {
        // A second signal during --shutdown-delay-duration skips the rest of the delay.
        if (shuttingDown) hurry();
        shuttingDown = true;
        resolve(signal);
      });
    }
  });

  const metrics = createMetrics();
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) {
      await fn().catch((err: unknown) => {
        logger.warn('error during shutdown', { error: err instanceof Error ? err.message : String(err) });
      });
    }
  };

  try {
    let manager: Manager | undefined;
    let apiserver: RunningAPIServer | undefined;
    let namespaces: NamespaceLifecycle | undefined;
    const ready = () =>
      !shuttingDown && (manager?.synced ?? true) && (namespaces?.synced ?? true) && (o.app === 'controller' || apiserver !== undefined);

    const metricsAddress = parseBindAddress(o.metricsBindAddress, '--metrics-bind-address');
    const healthAddress = parseBindAddress(o.healthProbeBindAddress, '--health-probe-bind-address');
    if (metricsAddress) {
      const { server, port } = await listen(metricsAddress, metricsHandler(metrics.registry));
      cleanups.push(() => close(server));
      logger.info('metrics listening', { port });
    }
    if (healthAddress) {
      const { server, port } = await listen(healthAddress, healthHandler({ live: () => true, ready }));
      cleanups.push(() => close(server));
      logger.info('health probes listening', { port });
    }

    const useStatic = o.app === 'aggregated-apiserver' && isStaticMode(o);
    if (isStaticMode(o) && !useStatic) {
      logger.warn(`--coder-url and the other static-mode flags are ignored with --app=${o.app}: namespaces come from CoderControlPlanes`);
    }
    // @kubernetes/client-node is loaded only where the cluster is used: static mode without
    // a kubeconfig starts faster and stays smaller without it.
    const kube = async () => {
      const [{ Manager }, { NamespaceLifecycle }, { loadKubeConfig }] = await Promise.all([
        import('../controller/manager.ts'),
        import('../namespaces/lifecycle.ts'),
        import('../kube/kubeconfig.ts'),
      ]);
      return { Manager, NamespaceLifecycle, loadKubeConfig };
    };
    if (!useStatic) {
      const { Manager, loadKubeConfig } = await kube();
      manager = new Manager({
        kubeConfig: loadKubeConfig(o.kubeconfig),
        logger,
        metrics,
        reconcile: o.app !== 'aggregated-apiserver',
        ...(o.leaderElect
          ? { leaderElection: { namespace: o.leaderElectionNamespace ?? o.serviceNamespace, name: o.leaderElectionId, timing: leaderElectionTiming(o) } }
          : {}),
        coderTimeoutMs: o.coderRequestTimeoutMs,
        coderObserver: coderObserver(metrics),
      });
      const m = manager;
      cleanups.push(() => m.stop());
      await manager.start();
    }
    if (o.app !== 'controller') {
      // Static mode may run without cluster access (client CAs from flags); everywhere else
      // the API server sees the cluster, and tracks which namespaces are being deleted.
      if (!useStatic || o.kubeconfig || inCluster()) {
        const { NamespaceLifecycle, loadKubeConfig } = await kube();
        const n = new NamespaceLifecycle({ kubeConfig: loadKubeConfig(o.kubeconfig), logger });
        namespaces = n;
        cleanups.push(() => n.stop());
        if (!(await n.start(60_000))) logger.warn('Namespace informer has not synced yet; readiness waits for it');
      } else {
        logger.warn('no kubeconfig: namespaces being deleted cannot be recognised, so deleting one would delete the Coder objects it shows');
      }
      let resolver;
      if (useStatic) {
        const s = await staticResolver(o, metrics);
        cleanups.push(s.close);
        resolver = s.resolver;
      } else {
        resolver = (manager as Manager).eligibility;
      }
      apiserver = await startAPIServer(o, { logger, metrics, ready, resolver, ...(namespaces ? { namespaces } : {}) });
      const a = apiserver;
      cleanups.push(() => a.stop());
    }
    const signal = await stopped;
    // Reconcilers need no grace: stopping them and releasing the Lease first lets another
    // replica lead while this one still serves through the shutdown delay.
    await manager?.stopReconciling();
    if (o.shutdownDelayMs > 0 && apiserver) {
      // Not ready from now on; still serving while endpoints and the aggregator notice.
      logger.info('shutting down after the shutdown delay', { signal, delayMs: o.shutdownDelayMs });
      await Promise.race([new Promise((r) => setTimeout(r, o.shutdownDelayMs)), hurried]);
    }
    logger.info('shutting down', { signal });
  } finally {
    shuttingDown = true;
    await cleanup();
    logger.info('stopped');
  }
}
