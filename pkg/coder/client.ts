import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, errors as undiciErrors, request } from 'undici';
import { cancellation } from './cancellation.ts';
import { CoderApiError } from './errors.ts';
import { ArrayElementStream } from './json-elements.ts';
import type * as T from './types.ts';

export interface CoderClientObserver {
  /**
   * Called once per HTTP exchange with the endpoint template and the status code: 0 when no
   * answer came (network error, timeout), "canceled" when the caller gave up first.
   */
  observe(endpoint: string, code: number | 'canceled', seconds: number): void;
  retried?(endpoint: string, reason: string): void;
}

export interface CoderClientOptions {
  url: string;
  token: string;
  /** Per-request deadline, retries included. */
  timeoutMs?: number;
  /** 429 answers are retried while Retry-After fits in this budget and the deadline. */
  maxRetryAfterMs?: number;
  maxRetries?: number;
  userAgent?: string;
  observer?: CoderClientObserver;
  /** Shared connection pool; one is created (keep-alive) when absent. */
  dispatcher?: Agent;
}

type Query = Record<string, string | number | boolean | undefined>;

interface CallOptions {
  params?: Record<string, string>;
  query?: Query;
  json?: unknown;
  raw?: { body: Buffer; contentType: string };
  /** Status codes treated as success; others become CoderApiError. */
  ok?: number[];
  /** Takes a successful answer's body as it arrives (the RawResponse then has an empty body). */
  sink?: { write(chunk: Buffer): void; end(): void };
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const DEFAULT_TIMEOUT_MS = 30_000;

const requestCount = new AsyncLocalStorage<{ count: number }>();

/** Runs `work` and counts the Coder requests it sends (retries included), for the cost of watch reads. */
export async function countCoderRequests<R>(work: () => Promise<R>): Promise<{ value: R; requests: number }> {
  const counter = { count: 0 };
  const value = await requestCount.run(counter, work);
  return { value, requests: counter.count };
}

/**
 * Typed client for the parts of Coder's REST API coder-k8s uses. Connections are
 * pooled and kept alive; 429s are retried within the request deadline; errors are
 * CoderApiError carrying Coder's envelope. The token is only ever put in a header.
 */
export class CoderClient {
  readonly baseUrl: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #maxRetries: number;
  readonly #userAgent: string;
  readonly #observer: CoderClientObserver | undefined;
  readonly #dispatcher: Agent;
  readonly #ownsDispatcher: boolean;

  constructor(options: CoderClientOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`coder URL must be http or https, got ${url.protocol}`);
    }
    this.baseUrl = url.origin + url.pathname.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 10_000;
    this.#maxRetries = options.maxRetries ?? 3;
    this.#userAgent = options.userAgent ?? 'coder-k8s';
    this.#observer = options.observer;
    this.#ownsDispatcher = !options.dispatcher;
    this.#dispatcher =
      options.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: 32, pipelining: 1 });
  }

  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  // --- organizations -------------------------------------------------------

  getOrganization(organization: string): Promise<T.Organization> {
    return this.#json('GET', '/api/v2/organizations/{organization}', { params: { organization } });
  }

  listOrganizations(): Promise<T.Organization[]> {
    return this.#json('GET', '/api/v2/organizations', {});
  }

  // --- templates -----------------------------------------------------------

  listTemplates(q?: string): Promise<T.Template[]> {
    return this.#json('GET', '/api/v2/templates', { query: { q } });
  }

  getTemplate(id: string): Promise<T.Template> {
    return this.#json('GET', '/api/v2/templates/{id}', { params: { id } });
  }

  getTemplateByName(organizationId: string, name: string): Promise<T.Template> {
    return this.#json('GET', '/api/v2/organizations/{organization}/templates/{name}', {
      params: { organization: organizationId, name },
    });
  }

  createTemplate(organizationId: string, req: T.CreateTemplateRequest): Promise<T.Template> {
    return this.#json('POST', '/api/v2/organizations/{organization}/templates', {
      params: { organization: organizationId },
      json: req,
      ok: [201],
    });
  }

  /** Returns undefined when Coder answers 304 (nothing changed). */
  async updateTemplateMeta(id: string, req: T.UpdateTemplateMeta): Promise<T.Template | undefined> {
    const res = await this.#call('PATCH', '/api/v2/templates/{id}', { params: { id }, json: req, ok: [200, 304] });
    return res.status === 304 ? undefined : (parse(res.body) as T.Template);
  }

  async updateActiveTemplateVersion(templateId: string, versionId: string): Promise<void> {
    await this.#call('PATCH', '/api/v2/templates/{id}/versions', {
      params: { id: templateId },
      json: { id: versionId } satisfies T.UpdateActiveTemplateVersion,
    });
  }

  async deleteTemplate(id: string): Promise<void> {
    await this.#call('DELETE', '/api/v2/templates/{id}', { params: { id } });
  }

  listTemplateVersions(templateId: string, query: { limit?: number; offset?: number } = {}): Promise<T.TemplateVersion[]> {
    return this.#json('GET', '/api/v2/templates/{id}/versions', { params: { id: templateId }, query });
  }

  getTemplateVersion(id: string): Promise<T.TemplateVersion> {
    return this.#json('GET', '/api/v2/templateversions/{id}', { params: { id } });
  }

  /** A version's import log, oldest line first: where Coder keeps why an import failed (job.error is generic). */
  templateVersionLogs(id: string): Promise<T.ProvisionerJobLog[]> {
    return this.#json('GET', '/api/v2/templateversions/{id}/logs', { params: { id } });
  }

  createTemplateVersion(organizationId: string, req: T.CreateTemplateVersionRequest): Promise<T.TemplateVersion> {
    return this.#json('POST', '/api/v2/organizations/{organization}/templateversions', {
      params: { organization: organizationId },
      json: req,
      ok: [201],
    });
  }

  // --- files ---------------------------------------------------------------

  async uploadFile(body: Buffer, contentType = 'application/x-tar'): Promise<T.UploadResponse> {
    const res = await this.#call('POST', '/api/v2/files', { raw: { body, contentType }, ok: [200, 201] });
    return parse(res.body) as T.UploadResponse;
  }

  async downloadFile(id: string): Promise<Buffer> {
    const res = await this.#call('GET', '/api/v2/files/{id}', { params: { id } });
    return res.body;
  }

  // --- workspaces ----------------------------------------------------------

  /**
   * Every workspace matching q in one response (no limit: offset pages shift when workspaces
   * come and go between requests, and a list must neither drop nor repeat any), each passed
   * through `map` as it arrives and is parsed, so a large list is never held whole in Coder's form.
   */
  async listAllWorkspaces<R>(map: (workspace: T.Workspace) => R, q?: string): Promise<R[]> {
    const seen = new Set<string>();
    const out: R[] = [];
    const sink = new ArrayElementStream('workspaces', (element) => {
      const workspace = element as T.Workspace;
      if (seen.has(workspace.id)) return;
      seen.add(workspace.id);
      out.push(map(workspace));
    });
    await this.#call('GET', '/api/v2/workspaces', { query: { q }, sink });
    return out;
  }

  getWorkspace(id: string, includeDeleted = false): Promise<T.Workspace> {
    return this.#json('GET', '/api/v2/workspaces/{id}', {
      params: { id },
      query: { include_deleted: includeDeleted || undefined },
    });
  }

  getWorkspaceByOwnerAndName(owner: string, name: string): Promise<T.Workspace> {
    return this.#json('GET', '/api/v2/users/{user}/workspace/{name}', { params: { user: owner, name } });
  }

  createWorkspace(owner: string, req: T.CreateWorkspaceRequest): Promise<T.Workspace> {
    return this.#json('POST', '/api/v2/users/{user}/workspaces', { params: { user: owner }, json: req, ok: [201] });
  }

  createWorkspaceBuild(workspaceId: string, req: T.CreateWorkspaceBuildRequest): Promise<T.WorkspaceBuild> {
    return this.#json('POST', '/api/v2/workspaces/{id}/builds', { params: { id: workspaceId }, json: req, ok: [201] });
  }

  getWorkspaceBuild(id: string): Promise<T.WorkspaceBuild> {
    return this.#json('GET', '/api/v2/workspacebuilds/{id}', { params: { id } });
  }

  async updateWorkspaceTTL(workspaceId: string, ttlMs: number | null): Promise<void> {
    await this.#call('PUT', '/api/v2/workspaces/{id}/ttl', {
      params: { id: workspaceId },
      json: { ttl_ms: ttlMs } satisfies T.UpdateWorkspaceTTLRequest,
      ok: [204],
    });
  }

  async updateWorkspaceAutostart(workspaceId: string, schedule: string | undefined): Promise<void> {
    await this.#call('PUT', '/api/v2/workspaces/{id}/autostart', {
      params: { id: workspaceId },
      json: (schedule ? { schedule } : {}) satisfies T.UpdateWorkspaceAutostartRequest,
      ok: [204],
    });
  }

  // --- users and tokens ----------------------------------------------------

  buildInfo(): Promise<T.BuildInfoResponse> {
    return this.#json('GET', '/api/v2/buildinfo', {});
  }

  getUser(user: string): Promise<T.User> {
    return this.#json('GET', '/api/v2/users/{user}', { params: { user } });
  }

  /** Whether the first user exists (Coder answers 404 on a fresh deployment). */
  async hasFirstUser(): Promise<boolean> {
    const res = await this.#call('GET', '/api/v2/users/first', { ok: [200, 404] });
    return res.status === 200;
  }

  createFirstUser(req: T.CreateFirstUserRequest): Promise<T.CreateFirstUserResponse> {
    return this.#json('POST', '/api/v2/users/first', { json: req, ok: [201] });
  }

  login(req: T.LoginWithPasswordRequest): Promise<T.LoginWithPasswordResponse> {
    return this.#json('POST', '/api/v2/users/login', { json: req, ok: [201] });
  }

  createUser(req: T.CreateUserRequestWithOrgs): Promise<T.User> {
    return this.#json('POST', '/api/v2/users', { json: req, ok: [201] });
  }

  updateUserRoles(user: string, roles: string[]): Promise<T.User> {
    return this.#json('PUT', '/api/v2/users/{user}/roles', { params: { user }, json: { roles } });
  }

  /** The longest token lifetime the deployment allows this user, in nanoseconds. */
  tokenConfig(user: string): Promise<{ max_token_lifetime: number }> {
    return this.#json('GET', '/api/v2/users/{user}/keys/tokens/tokenconfig', { params: { user } });
  }

  createToken(user: string, req: T.CreateTokenRequest): Promise<T.GenerateAPIKeyResponse> {
    return this.#json('POST', '/api/v2/users/{user}/keys/tokens', { params: { user }, json: req, ok: [201] });
  }

  uploadLicense(license: string): Promise<{ id: number; claims: Record<string, unknown> }> {
    return this.#json('POST', '/api/v2/licenses', { json: { license }, ok: [201] });
  }

  entitlements(): Promise<T.Entitlements> {
    return this.#json('GET', '/api/v2/entitlements', {});
  }

  // --- transport -----------------------------------------------------------

  async #json<R>(method: string, route: string, options: CallOptions): Promise<R> {
    const res = await this.#call(method, route, options);
    return parse(res.body) as R;
  }

  async #call(method: string, route: string, options: CallOptions): Promise<RawResponse> {
    const endpoint = `${method} ${route}`;
    const url = this.baseUrl + expand(route, options.params ?? {}) + queryString(options.query);
    const deadline = Date.now() + this.#timeoutMs;
    const ok = options.ok ?? [200];
    for (let attempt = 0; ; attempt++) {
      const res = await this.#send(method, url, endpoint, deadline, options);
      if (ok.includes(res.status)) return res;
      const err = this.#errorFrom(res, endpoint);
      const waitMs = (err.retryAfterSeconds ?? 1) * 1000;
      const retryable = res.status === 429 && attempt < this.#maxRetries && waitMs <= this.#maxRetryAfterMs;
      if (!retryable || Date.now() + waitMs >= deadline) throw err;
      this.#observer?.retried?.(endpoint, 'rate_limited');
      const canceled = cancellation();
      await sleep(waitMs, undefined, canceled ? { signal: canceled } : {}).catch(() => undefined);
      // Gone before asking again: canceled, as for a request cut short.
      if (canceled?.aborted) throw this.#canceled(endpoint);
    }
  }

  async #send(method: string, url: string, endpoint: string, deadline: number, options: CallOptions): Promise<RawResponse> {
    const headers: Record<string, string> = {
      'Coder-Session-Token': this.#token,
      'User-Agent': this.#userAgent,
      Accept: 'application/json',
    };
    let body: Buffer | string | undefined;
    if (options.raw) {
      body = options.raw.body;
      headers['Content-Type'] = options.raw.contentType;
    } else if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['Content-Type'] = 'application/json';
    }
    const counter = requestCount.getStore();
    if (counter) counter.count++;
    const started = performance.now();
    const remaining = Math.max(1, deadline - Date.now());
    const canceled = cancellation();
    const timeout = AbortSignal.timeout(remaining);
    try {
      if (canceled?.aborted) throw this.#canceled(endpoint);
      const res = await request(url, {
        method: method as 'GET',
        headers,
        body,
        dispatcher: this.#dispatcher,
        signal: canceled ? AbortSignal.any([timeout, canceled]) : timeout,
      });
      let buf = Buffer.alloc(0);
      if (options.sink && (options.ok ?? [200]).includes(res.statusCode)) await feed(res.body, options.sink, res.statusCode);
      else buf = Buffer.from(await res.body.arrayBuffer());
      this.#observer?.observe(endpoint, res.statusCode, (performance.now() - started) / 1000);
      return { status: res.statusCode, headers: res.headers, body: buf };
    } catch (err) {
      if (err instanceof SinkFailure) {
        // Coder answered, and the answer is not what the caller expects: its error, unchanged.
        this.#observer?.observe(endpoint, err.status, (performance.now() - started) / 1000);
        throw err.cause;
      }
      if (canceled?.aborted && !timeout.aborted) {
        this.#observer?.observe(endpoint, 'canceled', (performance.now() - started) / 1000);
        throw this.#canceled(endpoint);
      }
      this.#observer?.observe(endpoint, 0, (performance.now() - started) / 1000);
      const timedOut = isTimeout(err);
      throw new CoderApiError({
        kind: timedOut ? 'timeout' : 'network',
        statusCode: 0,
        coderMessage: timedOut ? `no answer within ${this.#timeoutMs}ms` : networkMessage(err),
        endpoint,
        baseUrl: this.baseUrl,
      });
    }
  }

  #canceled(endpoint: string): CoderApiError {
    return new CoderApiError({
      kind: 'canceled',
      statusCode: 0,
      coderMessage: 'canceled before Coder answered: the request that needed it ended or ran out of time',
      endpoint,
      baseUrl: this.baseUrl,
    });
  }

  #errorFrom(res: RawResponse, endpoint: string): CoderApiError {
    let envelope: Partial<T.CoderResponse> = {};
    try {
      const parsed: unknown = JSON.parse(res.body.toString('utf8'));
      if (parsed && typeof parsed === 'object') envelope = parsed;
    } catch {
      // Non-JSON bodies (proxies, 428 from the rate limiter) become a synthetic message below.
    }
    const text = res.body.toString('utf8').trim().slice(0, 200);
    return new CoderApiError({
      kind: 'http',
      statusCode: res.status,
      coderMessage: typeof envelope.message === 'string' ? envelope.message : text || `HTTP ${res.status}`,
      ...(typeof envelope.detail === 'string' ? { detail: envelope.detail } : {}),
      ...(Array.isArray(envelope.validations) ? { validations: envelope.validations } : {}),
      retryAfterSeconds: retryAfter(res.headers['retry-after']),
      endpoint,
      baseUrl: this.baseUrl,
    });
  }
}

/** What a CallOptions.sink threw, carried through #send's transport error handling. */
class SinkFailure extends Error {
  readonly status: number;

  constructor(status: number, cause: unknown) {
    super('the response sink failed', { cause });
    this.status = status;
  }
}

/** Feeds a body to a sink as it arrives; what the sink throws comes out as a SinkFailure. */
async function feed(body: AsyncIterable<unknown>, sink: NonNullable<CallOptions['sink']>, status: number): Promise<void> {
  const step = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      throw new SinkFailure(status, err);
    }
  };
  for await (const chunk of body) {
    step(() => {
      sink.write(chunk as Buffer);
    });
  }
  step(() => {
    sink.end();
  });
}

function expand(route: string, params: Record<string, string>): string {
  return route.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`missing path parameter ${key} for ${route}`);
    return encodeURIComponent(value);
  });
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}

function parse(body: Buffer): unknown {
  return JSON.parse(body.toString('utf8'));
}

function retryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function isTimeout(err: unknown): boolean {
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) return true;
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

function networkMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return 'network error';
}
