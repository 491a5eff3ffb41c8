import { createLogger, type Logger } from '../logging/logger.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { metricsHandler } from '../metrics/server.ts';
import { healthHandler } from '../health/server.ts';
import { close, listen, parseBindAddress } from '../util/address.ts';
import { startStaticAPIServer, type RunningAPIServer } from './aggregated-apiserver.ts';
import { isStaticMode, type Options } from './options.ts';
import { VERSION } from './version.ts';

export class NotYetAvailableError extends Error {}

/**
 * Runs the process until SIGTERM/SIGINT: metrics and health endpoints, then what --app
 * asks for. Shutdown stops readiness first, drains in-flight requests, then exits.
 */
export async function run(o: Options, logger: Logger = createLogger({ level: o.logLevel, format: o.logFormat })): Promise<void> {
  logger.info('starting coder-k8s', { version: VERSION, app: o.app, node: process.version });
  if (o.app !== 'aggregated-apiserver') {
    throw new NotYetAvailableError(`--app=${o.app} is not yet available in this build; use --app=aggregated-apiserver with --coder-url, --coder-session-token-file and --coder-namespace`);
  }
  if (!isStaticMode(o)) {
    throw new NotYetAvailableError(
      '--app=aggregated-apiserver without --coder-url (namespaces from CoderControlPlanes) is not yet available; give --coder-url, --coder-session-token-file and --coder-namespace',
    );
  }

  const metrics = createMetrics();
  let shuttingDown = false;
  let apiserver: RunningAPIServer | undefined = undefined;
  const ready = () => !shuttingDown && apiserver !== undefined;

  const metricsAddress = parseBindAddress(o.metricsBindAddress, '--metrics-bind-address');
  const healthAddress = parseBindAddress(o.healthProbeBindAddress, '--health-probe-bind-address');
  const metricsServer = metricsAddress ? await listen(metricsAddress, metricsHandler(metrics.registry)) : undefined;
  const healthServer = healthAddress ? await listen(healthAddress, healthHandler({ live: () => true, ready })) : undefined;
  if (metricsServer) logger.info('metrics listening', { port: metricsServer.port });
  if (healthServer) logger.info('health probes listening', { port: healthServer.port });

  apiserver = await startStaticAPIServer(o, logger, metrics, ready);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      if (shuttingDown) return;
      shuttingDown = true;
      logger.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGTERM', () => {
      stop('SIGTERM');
    });
    process.once('SIGINT', () => {
      stop('SIGINT');
    });
  });
  await apiserver.stop();
  await close(metricsServer?.server);
  await close(healthServer?.server);
  logger.info('stopped');
}
