import { Stream } from 'node:stream';
import Koa, { type Context, type Next } from 'koa';
import Router from '@koa/router';
import type { ResourceInfo } from '../api/aggregation/v1alpha1/resources.ts';
import { StatusError, forbidden, internalError, methodNotAllowed, notFound, unauthorized } from '../api/meta/status-error.ts';
import type { KubeObject } from '../api/meta/types.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { NamespacePhases } from '../namespaces/lifecycle.ts';
import type { Storage } from '../storage/storage.ts';
import { WatchHub, type WatchOptions } from '../watch/hub.ts';
import type { Authenticator, UserInfo } from './authn/types.ts';
import { peerChain } from './authn/x509.ts';
import type { Authorizer } from './authz/types.ts';
import type { BackendResolver } from './backends.ts';
import { cancelableRead, clientWentAway } from './cancellation.ts';
import { compressLargeResponses } from './compression.ts';
import { apiGroupDocument, apiGroupList, apiResourceList, coreAPIVersions, groupVersionOf, type VersionInfo } from './discovery.ts';
import { listAllNamespaces } from './fanout.ts';
import { openAPIV2, openAPIV3, openAPIV3Root } from './openapi.ts';
import { ResourceHandler } from './resource-handler.ts';
import { requestInfo, type RequestInfo } from './request-info.ts';
import { NamespaceScopes } from './scope.ts';
import { SecureListener, connectionOf, distinctHeaders, type ServingTLS } from './transport.ts';

export interface APIServerConfig {
  bindAddress: string;
  securePort: number;
  tls: ServingTLS;
  authenticator: Authenticator;
  authorizer: Authorizer;
  resolver: BackendResolver;
  /** Namespace phases (absent without cluster access: every namespace is then Active). */
  namespaces?: NamespacePhases;
  storages: readonly Storage<KubeObject & { spec: object }>[];
  metrics: Metrics;
  logger: Logger;
  maxBodyBytes: number;
  fanout: { concurrency: number; timeoutMs: number };
  watch: WatchOptions;
  version: VersionInfo;
  /** Readiness of the process (e.g. caches synced), served at /readyz on the secure port too. */
  ready: () => boolean;
}

interface State {
  user?: UserInfo;
  info?: RequestInfo;
  /** The negotiated response form (object, table or metadata), for the request log. */
  form?: string;
}

const HEALTH_PATHS = /^\/(healthz|livez|readyz)(\/.*)?$/;

/**
 * The aggregated API server: HTTPS, authentication, authorization, discovery, OpenAPI and
 * one ResourceHandler per storage. Holds no objects; every request is answered from Coder.
 */
export class APIServer {
  readonly #config: APIServerConfig;
  readonly #app = new Koa<State>();
  readonly #listener: SecureListener;
  readonly #resources: readonly ResourceInfo[];
  readonly #plurals: Set<string>;
  readonly #scopes: NamespaceScopes;
  readonly #watch: WatchHub;
  #inflight = 0;

  constructor(config: APIServerConfig) {
    this.#config = config;
    this.#resources = config.storages.map((s) => s.info);
    this.#plurals = new Set(this.#resources.map((r) => r.plural));
    this.#scopes = new NamespaceScopes(config.resolver, config.namespaces);
    this.#watch = new WatchHub({
      ...config.watch,
      namespaces: this.#scopes,
      metrics: config.metrics,
      logger: config.logger.child({ component: 'watch' }),
    });
    this.#app.proxy = false;
    this.#app.silent = true;
    this.#app.use((ctx, next) => this.#observe(ctx, next));
    this.#app.use(compressLargeResponses);
    this.#app.use((ctx, next) => this.#health(ctx, next));
    this.#app.use((ctx, next) => this.#authenticate(ctx, next));
    this.#app.use((ctx, next) => this.#authorize(ctx, next));
    const router = this.#routes();
    this.#app.use(router.routes());
    this.#app.use(router.allowedMethods({ throw: true, methodNotAllowed: () => methodNotAllowed('method not allowed'), notImplemented: () => methodNotAllowed('method not implemented') }));
    // Sets (not throws) the 404 so allowedMethods, upstream, can still turn it into a 405.
    this.#app.use((ctx) => {
      const status = notFound({ group: '', resource: '', kind: '' }, `the server could not find the requested resource (${ctx.method} ${ctx.path})`);
      ctx.status = 404;
      ctx.body = status.status;
    });
    const handle = this.#app.callback();
    this.#listener = new SecureListener(config.tls, (req, res) => {
      void handle(req, res);
    });
  }

  /** Serves a rotated certificate to new connections. */
  setServingCertificate(tls: ServingTLS): void {
    this.#listener.setSecureContext(tls);
  }

  get inflight(): number {
    return this.#inflight;
  }

  async start(): Promise<{ port: number }> {
    const port = await this.#listener.listen(this.#config.securePort, this.#config.bindAddress);
    this.#config.logger.info('aggregated API server listening', { address: this.#config.bindAddress, port, protocols: 'h2, http/1.1' });
    return { port };
  }

  /** Ends watches cleanly, stops accepting connections, lets in-flight requests finish (bounded), closes idle ones. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#watch.stop();
    await this.#listener.stop(graceMs, () => this.#inflight === 0);
  }

  async #observe(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    this.#inflight++;
    this.#config.metrics.apiserverInflight.inc();
    const info = requestInfo(ctx.method, ctx.path, new URLSearchParams(ctx.querystring));
    (ctx.state as State).info = info;
    try {
      await next();
    } catch (err) {
      const status = this.#toStatus(err, ctx);
      ctx.status = status.code;
      ctx.body = status.status;
      if (status.status.details?.retryAfterSeconds !== undefined) {
        ctx.set('Retry-After', String(status.status.details.retryAfterSeconds));
      }
    } finally {
      // A streamed list is written after the handlers return: it is measured when it ends.
      if (ctx.respond !== false && ctx.body instanceof Stream) {
        ctx.res.once('close', () => {
          this.#record(ctx, info, started, !ctx.res.writableFinished);
        });
      } else {
        this.#record(ctx, info, started, false);
      }
    }
  }

  /** Metrics and the request log of one request; `cut`: the client left while its body was streamed. */
  #record(ctx: Context, info: RequestInfo, started: number, cut: boolean): void {
    this.#inflight--;
    this.#config.metrics.apiserverInflight.dec();
    const seconds = (performance.now() - started) / 1000;
    // Only served resources become label values: paths come from unauthenticated clients too.
    const resource = !info.isResourceRequest ? 'nonresource' : this.#plurals.has(info.resource) ? info.resource : 'unknown';
    const labels = { verb: info.isResourceRequest ? info.verb : 'other', resource, code: String(ctx.status) };
    // A client that went away is not a server failure: counted apart (as kube-apiserver's
    // apiserver_request_aborts_total), logged only at debug.
    const gone = cut || clientWentAway(ctx);
    if (gone) this.#config.metrics.apiserverRequestAborts.inc({ verb: labels.verb, resource });
    if (!HEALTH_PATHS.test(ctx.path)) {
      if (!gone) {
        this.#config.metrics.apiserverRequests.inc(labels);
        this.#config.metrics.apiserverRequestDuration.observe(labels, seconds);
      }
      // Like kube-apiserver's request log, successful requests are logged only at a
      // verbosity one opts into (--log-level=debug); refusals and failures always.
      const level = gone ? 'debug' : ctx.status >= 500 ? 'warn' : ctx.status >= 400 ? 'info' : 'debug';
      if (this.#config.logger.isLevelEnabled(level)) {
        this.#config.logger.log(level, 'request', {
          method: ctx.method,
          path: ctx.path,
          verb: info.verb,
          resource: info.resource || undefined,
          namespace: info.namespace || undefined,
          status: ctx.status,
          durationMs: Math.round(seconds * 1000),
          user: (ctx.state as State).user?.name,
          form: (ctx.state as State).form,
          ...(gone ? { clientGone: true } : {}),
        });
      }
    }
  }

  #toStatus(err: unknown, ctx: Context): StatusError {
    if (err instanceof StatusError) return err;
    const httpStatus = (err as { status?: unknown }).status;
    if (typeof httpStatus === 'number' && httpStatus === 405) return methodNotAllowed(`${ctx.method} is not allowed on ${ctx.path}`);
    this.#config.logger.error('unhandled error', { path: ctx.path, error: err instanceof Error ? err.stack : String(err) });
    return internalError(err instanceof Error ? err.message : 'unknown error');
  }

  async #health(ctx: Context, next: Next): Promise<void> {
    const match = HEALTH_PATHS.exec(ctx.path);
    if (!match || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) {
      await next();
      return;
    }
    const ok = match[1] !== 'readyz' || this.#config.ready();
    ctx.status = ok ? 200 : 503;
    ctx.type = 'text/plain';
    ctx.body = ok ? 'ok' : 'not ready';
  }

  async #authenticate(ctx: Context, next: Next): Promise<void> {
    const socket = connectionOf(ctx.req);
    const result = await this.#config.authenticator.authenticate({ chain: peerChain(socket), connection: socket, headers: distinctHeaders(ctx.req) });
    if (result.kind === 'user') {
      this.#config.metrics.authentications.inc({ method: result.method, result: 'success' });
      (ctx.state as State).user = result.user;
      await next();
      return;
    }
    const method = result.kind === 'rejected' ? result.method : 'none';
    this.#config.metrics.authentications.inc({ method, result: 'failure' });
    if (result.reason) this.#config.logger.info('authentication rejected', { reason: result.reason, path: ctx.path });
    throw unauthorized();
  }

  async #authorize(ctx: Context, next: Next): Promise<void> {
    const state = ctx.state as State;
    const { user, info } = state;
    if (!user || !info) throw unauthorized();
    const decision = await this.#config.authorizer.authorize(user, info);
    if (decision.allowed) {
      await next();
      return;
    }
    const what = info.isResourceRequest
      ? `resource "${info.resource}" in API group "${info.apiGroup}"${info.namespace ? ` in the namespace "${info.namespace}"` : ' at the cluster scope'}`
      : `path "${info.path}"`;
    throw forbidden(`User "${user.name}" cannot ${info.verb} ${what}${decision.reason ? `: ${decision.reason}` : ''}`);
  }

  #routes(): Router {
    const router = new Router();
    const resources = this.#resources;
    const { group, version } = groupVersionOf(resources);
    const title = 'coder-k8s aggregated API';
    const v3 = openAPIV3(resources, title);
    const v3Root = openAPIV3Root(resources, v3);
    const v2 = openAPIV2(resources, title);

    router.get('/api', (ctx) => (ctx.body = coreAPIVersions()));
    router.get('/apis', (ctx) => (ctx.body = apiGroupList(resources)));
    router.get(`/apis/${group}`, (ctx) => (ctx.body = apiGroupDocument(resources)));
    router.get(`/apis/${group}/${version}`, (ctx) => (ctx.body = apiResourceList(resources)));
    router.get('/version', (ctx) => (ctx.body = this.#config.version));
    router.get('/openapi/v2', (ctx) => (ctx.body = v2));
    router.get('/openapi/v3', (ctx) => (ctx.body = v3Root));
    router.get(`/openapi/v3/apis/${group}/${version}`, (ctx) => {
      ctx.set('Cache-Control', ctx.query.hash ? 'public, immutable, max-age=31536000' : 'no-cache, private');
      ctx.body = v3;
    });

    const handlers = new Map<string, ResourceHandler<KubeObject & { spec: object }>>();
    for (const storage of this.#config.storages) {
      handlers.set(
        storage.info.plural,
        new ResourceHandler(storage, this.#watch.resource(storage), {
          scopes: this.#scopes,
          maxBodyBytes: this.#config.maxBodyBytes,
          listAll: (storage, namespaces, context) =>
            listAllNamespaces(storage, namespaces, context, { ...this.#config.fanout, metrics: this.#config.metrics }),
        }),
      );
    }
    const params = (ctx: Context) => ctx.params as Record<string, string>;
    const handler = (ctx: Context) => {
      const plural = params(ctx).resource ?? '';
      const h = handlers.get(plural);
      if (!h) throw notFound({ group, resource: plural, kind: '' }, `the server could not find the requested resource (${plural}.${group})`);
      return h;
    };
    const base = `/apis/${group}/${version}`;
    const ns = (ctx: Context) => params(ctx).namespace ?? '';
    const name = (ctx: Context) => params(ctx).name ?? '';
    router.get(`${base}/:resource`, (ctx) => cancelableRead(ctx, () => handler(ctx).list(ctx, undefined)));
    router.get(`${base}/namespaces/:namespace/:resource`, (ctx) => cancelableRead(ctx, () => handler(ctx).list(ctx, ns(ctx))));
    router.post(`${base}/namespaces/:namespace/:resource`, (ctx) => handler(ctx).create(ctx, ns(ctx)));
    router.get(`${base}/namespaces/:namespace/:resource/:name`, (ctx) => cancelableRead(ctx, () => handler(ctx).get(ctx, ns(ctx), name(ctx))));
    router.put(`${base}/namespaces/:namespace/:resource/:name`, (ctx) => handler(ctx).update(ctx, ns(ctx), name(ctx)));
    router.patch(`${base}/namespaces/:namespace/:resource/:name`, (ctx) => handler(ctx).patch(ctx, ns(ctx), name(ctx)));
    router.delete(`${base}/namespaces/:namespace/:resource/:name`, (ctx) => handler(ctx).delete(ctx, ns(ctx), name(ctx)));
    return router;
  }
}
