import { readFile } from 'node:fs/promises';
import type { KubeObject } from '../api/meta/types.ts';
import { APIServer } from '../apiserver/server.ts';
import type { Authorizer } from '../apiserver/authz/types.ts';
import { StaticBackendResolver, type BackendResolver } from '../apiserver/backends.ts';
import type { VersionInfo } from '../apiserver/discovery.ts';
import { CoderClient } from '../coder/client.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { NamespacePhases } from '../namespaces/lifecycle.ts';
import { BackgroundTasks } from '../storage/background.ts';
import type { Storage } from '../storage/storage.ts';
import { TemplateStorage } from '../storage/templates/storage.ts';
import { WorkspaceStorage } from '../storage/workspaces/storage.ts';
import type { Options } from './options.ts';
import { buildSecurity } from './authentication.ts';
import { servingCertificate } from './tls.ts';
import { VERSION } from './version.ts';

async function readToken(o: Options): Promise<string> {
  const token = o.coderSessionTokenFile ? (await readFile(o.coderSessionTokenFile, 'utf8')).trim() : (o.coderSessionToken ?? '');
  if (!token) throw new Error('the Coder session token is empty');
  return token;
}

export function coderObserver(metrics: Metrics) {
  return {
    observe: (endpoint: string, code: number | 'canceled', seconds: number) => {
      metrics.coderRequests.inc({ endpoint, code: String(code) });
      metrics.coderRequestDuration.observe({ endpoint, code: String(code) }, seconds);
    },
    retried: (endpoint: string, reason: string) => {
      metrics.coderRetries.inc({ endpoint, reason });
    },
  };
}

export interface RunningAPIServer {
  server: APIServer;
  port: number;
  caCert?: string;
  /** Work the server left running (background builds); tests wait on its idle(). */
  background: BackgroundTasks;
  stop(): Promise<void>;
}

export interface APIServerDeps {
  logger: Logger;
  metrics: Metrics;
  /** Readiness of the rest of the process (informers synced, not shutting down). */
  ready: () => boolean;
  resolver: BackendResolver;
  /** Namespace phases from the cluster; without them every namespace counts as Active. */
  namespaces?: NamespacePhases;
  /** Replaces delegated authorization (tests record decisions with it). */
  authorizer?: Authorizer;
}

/** The aggregated API server over whatever resolves namespaces to Coder deployments. */
export async function startAPIServer(o: Options, deps: APIServerDeps): Promise<RunningAPIServer> {
  const { logger, metrics } = deps;
  const security = await buildSecurity(o, logger);
  const background = new BackgroundTasks(logger.child({ component: 'background' }));
  const storageLogger = logger.child({ component: 'storage' });
  // Storages are typed by their object; the server only routes by resource name, so the
  // list is widened (method parameters make Storage<T> invariant in T).
  const storages = [
    new TemplateStorage({ buildWaitMs: o.templateBuildWaitMs, background, logger: storageLogger, metrics }),
    new WorkspaceStorage({ buildWaitMs: o.workspaceBuildWaitMs }),
  ] as unknown as Storage<KubeObject & { spec: object }>[];
  const serving = await servingCertificate(o, logger);
  const tls = serving.tls;
  const server = new APIServer({
    bindAddress: o.bindAddress,
    securePort: o.securePort,
    tls,
    authenticator: security.authenticator,
    authorizer: deps.authorizer ?? security.authorizer,
    resolver: deps.resolver,
    ...(deps.namespaces ? { namespaces: deps.namespaces } : {}),
    storages,
    metrics,
    logger: logger.child({ component: 'apiserver' }),
    maxBodyBytes: o.maxRequestBodyBytes,
    fanout: { concurrency: o.fanoutConcurrency, timeoutMs: o.coderRequestTimeoutMs },
    watch: {
      pollIntervalMs: o.watchPollIntervalMs,
      bookmarkIntervalMs: o.watchBookmarkIntervalMs,
      historySize: o.watchHistorySize,
      bufferSize: o.watchBufferSize,
      minRequestTimeoutMs: o.minRequestTimeoutMs,
      membershipIntervalMs: 1000,
    },
    version: versionInfo(),
    ready: () => deps.ready() && security.ready(),
  });
  const { port } = await server.start();
  const stopFollowing = serving.follow((next) => {
    server.setServingCertificate(next);
  });
  return {
    server,
    port,
    ...(tls.caCert ? { caCert: tls.caCert } : {}),
    background,
    stop: async () => {
      stopFollowing();
      await server.stop(o.shutdownGracePeriodMs);
      await background.shutdown();
      await security.stop();
    },
  };
}

/** Static mode: one Coder deployment (--coder-url) pinned to one namespace (--coder-namespace). */
export async function staticResolver(o: Options, metrics: Metrics): Promise<{ resolver: BackendResolver; close: () => Promise<void> }> {
  if (!o.coderUrl || !o.coderNamespace) throw new Error('static mode needs --coder-url and --coder-namespace');
  const coder = new CoderClient({
    url: o.coderUrl,
    token: await readToken(o),
    timeoutMs: o.coderRequestTimeoutMs,
    observer: coderObserver(metrics),
  });
  return {
    resolver: new StaticBackendResolver({ namespace: o.coderNamespace, url: coder.baseUrl, coder }),
    close: () => coder.close(),
  };
}

/** Static mode end to end (tests use it). */
export async function startStaticAPIServer(o: Options, deps: Omit<APIServerDeps, 'resolver'>): Promise<RunningAPIServer> {
  const { resolver, close } = await staticResolver(o, deps.metrics);
  const running = await startAPIServer(o, { ...deps, resolver });
  return {
    ...running,
    stop: async () => {
      await running.stop();
      await close();
    },
  };
}

export function versionInfo(): VersionInfo {
  const [major = '0', minor = '0'] = VERSION.replace(/^v/, '').split('.');
  return {
    major,
    minor,
    gitVersion: VERSION,
    gitCommit: process.env.CODER_K8S_GIT_COMMIT ?? '',
    gitTreeState: '',
    buildDate: '',
    goVersion: '',
    compiler: `node ${process.version}`,
    platform: `${process.platform}/${process.arch}`,
  };
}
