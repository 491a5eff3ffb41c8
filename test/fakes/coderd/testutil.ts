// Helpers for the fake's own tests: a tiny fetch wrapper and deadline polling.
import type { TemplateVersion, Workspace } from '../../../pkg/coder/types.ts';
import { packTar } from './index.ts';
import type { FakeCoder } from './index.ts';

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON (undefined for empty or non-JSON bodies). */
  body: unknown;
  text: string;
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  /** Sent as-is instead of JSON. */
  raw?: Buffer | string;
  headers?: Record<string, string>;
}

export class Api {
  readonly base: string;
  readonly token: string | null;

  constructor(fake: FakeCoder | string, token?: string | null) {
    this.base = typeof fake === 'string' ? fake : fake.url;
    this.token = token === undefined ? (typeof fake === 'string' ? null : fake.adminToken) : token;
  }

  as(token: string | null): Api {
    return new Api(this.base, token);
  }

  async call(method: string, path: string, opts: CallOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? this.token : opts.token;
    if (token !== null) headers['Coder-Session-Token'] = token;
    let payload: string | Uint8Array | undefined;
    if (opts.raw !== undefined) payload = typeof opts.raw === 'string' ? opts.raw : new Uint8Array(opts.raw);
    else if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const res = await fetch(`${this.base}/api/v2${path}`, { method, headers, body: payload });
    const text = await res.text();
    let body: unknown;
    if (text !== '' && (res.headers.get('content-type') ?? '').includes('application/json')) body = JSON.parse(text);
    return { status: res.status, headers: res.headers, body, text };
  }

  get(path: string, opts?: CallOptions): Promise<ApiResponse> {
    return this.call('GET', path, opts);
  }

  post(path: string, body?: unknown, opts?: CallOptions): Promise<ApiResponse> {
    return this.call('POST', path, { ...opts, body });
  }

  put(path: string, body?: unknown, opts?: CallOptions): Promise<ApiResponse> {
    return this.call('PUT', path, { ...opts, body });
  }

  patch(path: string, body?: unknown, opts?: CallOptions): Promise<ApiResponse> {
    return this.call('PATCH', path, { ...opts, body });
  }

  delete(path: string, opts?: CallOptions): Promise<ApiResponse> {
    return this.call('DELETE', path, opts);
  }
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000, intervalMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Uploads files as a tar and returns the file id. */
export async function uploadFiles(api: Api, files: Record<string, string>): Promise<string> {
  const res = await api.call('POST', '/files', { raw: await packTar(files), headers: { 'Content-Type': 'application/x-tar' } });
  if (res.status !== 201 && res.status !== 200) throw new Error(`upload failed: ${res.status} ${res.text}`);
  return (res.body as { hash: string }).hash;
}

/** Creates a template version from files (optionally attached to a template). */
export async function createVersion(api: Api, org: string, files: Record<string, string>, extra: Record<string, unknown> = {}): Promise<TemplateVersion> {
  const fileId = await uploadFiles(api, files);
  const res = await api.post(`/organizations/${org}/templateversions`, { storage_method: 'file', provisioner: 'terraform', file_id: fileId, tags: null, ...extra });
  if (res.status !== 201) throw new Error(`create version failed: ${res.status} ${res.text}`);
  return res.body as TemplateVersion;
}

/** Polls a template version until its job is no longer active. */
export function waitForImport(api: Api, versionId: string): Promise<TemplateVersion> {
  return waitFor(`import of ${versionId}`, async () => {
    const version = (await api.get(`/templateversions/${versionId}`)).body as TemplateVersion;
    return ['pending', 'running', 'canceling'].includes(version.job.status) ? undefined : version;
  });
}

/** Polls a workspace until its latest build reaches one of `statuses`. */
export function waitForWorkspace(api: Api, workspaceId: string, ...statuses: string[]): Promise<Workspace> {
  return waitFor(`workspace ${workspaceId} to be ${statuses.join('|')}`, async () => {
    const ws = (await api.get(`/workspaces/${workspaceId}?include_deleted=true`)).body as Workspace;
    return statuses.includes(ws.latest_build.status) ? ws : undefined;
  });
}
