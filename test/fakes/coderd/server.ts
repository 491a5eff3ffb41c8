// HTTP plumbing: koa + @koa/router, with coderd's cross-cutting behaviour in
// one place (build-version header, JSON error envelope, knobs, auth, counters).
import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import Koa from 'koa';
import { Router } from '@koa/router';
import type { Actor } from './auth.ts';
import { authenticate, extractToken } from './auth.ts';
import { Body } from './body.ts';
import type { Counters } from './counters.ts';
import { redactQuery } from './counters.ts';
import { ApiError, MESSAGES, defaultMessageFor, errorBody, invalidJSON } from './errors.ts';
import type { JobRunner } from './jobs.ts';
import type { Knobs } from './knobs.ts';
import type { State } from './state.ts';

export const API_PREFIX = '/api/v2';
const JSON_TYPE = 'application/json; charset=utf-8';
const MAX_JSON_BYTES = 10 << 20;

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a handler answers; `json: null` is sent as the JSON literal null. */
export interface Reply {
  status: number;
  json?: unknown;
  raw?: { data: Buffer; contentType: string };
  headers?: Record<string, string>;
}

/** Everything a handler can reach. */
export interface AppContext {
  readonly state: State;
  readonly jobs: JobRunner;
  readonly knobs: Knobs;
  readonly counters: Counters;
  readonly buildVersion: string;
  /** Base URL once listening. */
  url: string;
}

export interface Route {
  method: Method;
  /** Path below /api/v2 with `{param}` placeholders, e.g. `/workspaces/{workspace}`. */
  path: string;
  /** Served without a session token. */
  public?: boolean;
  /** Only in the enterprise edition (an AGPL Coder answers 404 "Route not found."). */
  enterprise?: boolean;
  handler: (req: Req) => Reply | Promise<Reply>;
}

export class Req {
  readonly app: AppContext;
  readonly method: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  private readonly ctx: Koa.Context;
  private readonly authed: Actor | null;

  constructor(app: AppContext, ctx: Koa.Context, params: Record<string, string>, actor: Actor | null) {
    this.app = app;
    this.ctx = ctx;
    this.method = ctx.method;
    this.params = params;
    this.query = new URLSearchParams(ctx.querystring);
    this.headers = ctx.headers;
    this.authed = actor;
  }

  /** The authenticated caller (only on non-public routes). */
  get actor(): Actor {
    if (!this.authed) throw new Error('fake coderd: route is public, no actor');
    return this.authed;
  }

  param(name: string): string {
    const value = this.params[name];
    if (value === undefined) throw new Error(`fake coderd: missing path param ${name}`);
    return value;
  }

  header(name: string): string | undefined {
    const value = this.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  }

  /** Reads and decodes a JSON object body (httpapi.Read). */
  async json(): Promise<Body> {
    const data = await this.raw(MAX_JSON_BYTES);
    if (data === null) throw invalidJSON('http: request body too large');
    return Body.parse(data.toString('utf8'));
  }

  /**
   * Reads the raw body; null when it exceeds `limit` (the rest is drained so
   * the client still gets the answer, like http.MaxBytesReader's 400).
   */
  async raw(limit: number): Promise<Buffer | null> {
    const declared = Number(this.header('content-length') ?? '0');
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > limit;
    for await (const chunk of this.ctx.req as AsyncIterable<Buffer>) {
      if (tooLarge) continue;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        continue;
      }
      chunks.push(chunk);
    }
    return tooLarge ? null : Buffer.concat(chunks);
  }
}

export interface ServerOptions {
  /** Called once per request with a log line (never contains secrets). */
  log?: (line: string) => void;
}

interface RequestState {
  route: string | null;
  injectedLatencyMs: number;
}

function send(ctx: Koa.Context, reply: Reply): void {
  ctx.status = reply.status;
  for (const [k, v] of Object.entries(reply.headers ?? {})) ctx.set(k, v);
  if (reply.raw) {
    ctx.set('Content-Type', reply.raw.contentType);
    ctx.body = reply.raw.data;
  } else if (reply.json !== undefined) {
    ctx.set('Content-Type', JSON_TYPE);
    // Go's json.Encoder terminates documents with a newline.
    ctx.body = `${JSON.stringify(reply.json)}\n`;
  } else if (reply.status === 204 || reply.status === 304) {
    ctx.body = null;
  } else {
    // koa would turn a null body into 204; an empty body keeps e.g. 200/405.
    ctx.body = '';
    ctx.remove('Content-Type');
  }
}

function sendError(ctx: Koa.Context, err: unknown): void {
  if (err instanceof ApiError) {
    send(ctx, { status: err.status, json: err.body, headers: err.headers });
    return;
  }
  const detail = err instanceof Error ? err.message : String(err);
  console.error('fake coderd: internal error', err);
  send(ctx, { status: 500, json: errorBody(MESSAGES.internal, detail) });
}

/** Cross-cutting steps every request goes through before its handler. */
async function preflight(app: AppContext, ctx: Koa.Context, route: Route | null): Promise<'continue' | 'answered'> {
  const template = route ? API_PREFIX + route.path : null;
  const reqState = ctx.state as RequestState;
  reqState.route = template;
  const delay = app.knobs.latencyFor(route ? `${route.method} ${API_PREFIX}${route.path}` : null);
  if (delay > 0) {
    reqState.injectedLatencyMs = delay;
    await sleep(delay);
  }
  const limited = app.knobs.takeRateLimit(ctx.method, ctx.path, template);
  if (limited) {
    const reset = Math.ceil(Date.now() / 1000) + limited.retryAfterSeconds;
    throw new ApiError(429, `You've been rate limited for sending more than ${limited.limit} requests in 1m0s.`, {
      headers: {
        'Retry-After': String(limited.retryAfterSeconds),
        'X-RateLimit-Limit': String(limited.limit),
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': String(reset),
      },
    });
  }
  const failure = app.knobs.takeFailure(ctx.method, ctx.path, template);
  if (failure) {
    const body = failure.body ?? errorBody(defaultMessageFor(failure.status));
    if (typeof body === 'string') {
      send(ctx, { status: failure.status, raw: { data: Buffer.from(body), contentType: 'text/plain; charset=utf-8' }, headers: failure.headers });
    } else {
      send(ctx, { status: failure.status, json: body, headers: failure.headers });
    }
    return 'answered';
  }
  return 'continue';
}

async function dispatch(app: AppContext, ctx: Koa.Context, route: Route, params: Record<string, string>): Promise<void> {
  if ((await preflight(app, ctx, route)) === 'answered') return;
  const query = new URLSearchParams(ctx.querystring);
  const actor = route.public ? null : authenticate(app.state, extractToken(ctx.headers, query));
  const reply = await route.handler(new Req(app, ctx, params, actor));
  send(ctx, reply);
}

function toRouterPath(path: string): string {
  return API_PREFIX + path.replace(/\{([a-zA-Z_]+)\}/g, ':$1');
}

export function createApp(app: AppContext, routes: readonly Route[], options: ServerOptions = {}): Koa {
  const koa = new Koa();
  const router = new Router();
  for (const route of routes) {
    router.register(toRouterPath(route.path), [route.method], async (ctx) => {
      await dispatch(app, ctx, route, ctx.params);
    });
  }

  koa.use(async (ctx, next) => {
    const started = performance.now();
    const reqState: RequestState = { route: null, injectedLatencyMs: 0 };
    ctx.state = reqState;
    ctx.set('X-Coder-Build-Version', app.buildVersion);
    try {
      await next();
    } catch (err) {
      sendError(ctx, err);
    }
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    app.counters.record({
      method: ctx.method,
      path: ctx.path,
      query: redactQuery(ctx.querystring),
      route: reqState.route,
      status: ctx.status,
      durationMs,
      injectedLatencyMs: reqState.injectedLatencyMs,
      at: new Date().toISOString(),
    });
    options.log?.(`${ctx.method} ${ctx.path} ${ctx.status} ${Math.round(durationMs)}ms`);
  });
  koa.use(router.routes());
  koa.use(async (ctx) => {
    if ((await preflight(app, ctx, null)) === 'answered') return;
    // chi answers a known path with the wrong method with an empty 405.
    const allowed = new Set(router.match(ctx.path, ctx.method).path.flatMap((layer) => layer.methods));
    if (allowed.size > 0) {
      send(ctx, { status: 405, headers: { Allow: [...allowed].join(', ') } });
      return;
    }
    throw new ApiError(404, MESSAGES.routeNotFound);
  });
  // Errors are answered above; keep koa from printing them again.
  koa.silent = true;
  return koa;
}
