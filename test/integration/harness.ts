// Starts the fake Coder and the real aggregated API server (through its flags) over real
// HTTPS, with a client CA and a front-proxy CA, for integration tests.
import { connect } from 'node:http2';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import winston from 'winston';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startStaticAPIServer, type RunningAPIServer } from '../../pkg/app/aggregated-apiserver.ts';
import { parseOptions } from '../../pkg/app/options.ts';
import type { UserInfo } from '../../pkg/apiserver/authn/types.ts';
import type { AuthorizationDecision, Authorizer } from '../../pkg/apiserver/authz/types.ts';
import type { RequestInfo } from '../../pkg/apiserver/request-info.ts';
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from '../../pkg/certs/certs.ts';
import { createLogger, nullLogger, type Logger, type LogLevel } from '../../pkg/logging/logger.ts';
import { createMetrics, type Metrics } from '../../pkg/metrics/metrics.ts';
import type { NamespacePhases } from '../../pkg/namespaces/lifecycle.ts';
import { startFakeCoder, type FakeCoder, type FakeCoderOptions } from '../fakes/coderd/index.ts';

import { openWatch, type OpenedWatch } from './watch-client.ts';

export { eventually } from '../util/eventually.ts';

export const NAMESPACE = 'coder';
export const GROUP_VERSION = '/apis/aggregation.coder.com/v1alpha1';
export const TEMPLATES = `${GROUP_VERSION}/namespaces/${NAMESPACE}/codertemplates`;
export const WORKSPACES = `${GROUP_VERSION}/namespaces/${NAMESPACE}/coderworkspaces`;
export const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

/** Records who asked for what, so tests can check what authentication produced. */
export class RecordingAuthorizer implements Authorizer {
  readonly seen: { user: UserInfo; request: RequestInfo }[] = [];
  deny: ((user: UserInfo, request: RequestInfo) => boolean) | undefined;

  authorize(user: UserInfo, request: RequestInfo): AuthorizationDecision {
    this.seen.push({ user, request });
    return this.deny?.(user, request) ? { allowed: false, reason: 'denied by test' } : { allowed: true };
  }
}

export interface Response<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  accept?: string;
  headers?: Record<string, string | string[]>;
  /** Hangs up when aborted, as a client that goes away does. */
  signal?: AbortSignal;
  /** Speak HTTP/1.1 (the default client negotiates HTTP/2, as kube-apiserver's proxy does). */
  http1?: boolean;
}

export type Identity = 'admin' | 'proxy' | 'rogue-proxy' | 'untrusted' | 'none';

export interface Harness {
  fake: FakeCoder;
  api: RunningAPIServer;
  metrics: Metrics;
  authorizer: RecordingAuthorizer;
  baseUrl: string;
  request<T = any>(method: string, path: string, options?: RequestOptions, as?: Identity): Promise<Response<T>>;
  /** A request whose body is kept as bytes (compressed answers). */
  raw(method: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>;
  /** A GET over Node's own HTTP/2 client. */
  http2(path: string, headers: Record<string, string | string[]>, as?: Identity): Promise<{ status: number; body: string }>;
  /** `count` GETs sent at once over one HTTP/2 session. */
  http2Many(path: string, count: number): Promise<{ status: number; body: string }[]>;
  /** Opens a streaming watch (`path` carries the query, watch=true included). */
  watch(path: string, accept?: string): Promise<OpenedWatch>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  fake?: FakeCoderOptions;
  flags?: string[];
  logger?: Logger;
  /** Namespace phases as the cluster would report them (default: every namespace Active). */
  namespaces?: NamespacePhases;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'coder-k8s-it-'));
  const fake = await startFakeCoder({ buildTimings: { pendingMs: 10, runningMs: 40 }, ...options.fake });
  const clientCA = await createCertificateAuthority('it-client-ca');
  const frontProxyCA = await createCertificateAuthority('it-front-proxy-ca');
  const otherCA = await createCertificateAuthority('it-untrusted-ca');
  const identities: Record<Exclude<Identity, 'none'>, KeyPairPem> = {
    admin: await issueCertificate(clientCA, { commonName: 'it-admin', organizations: ['system:masters', 'devs'], usages: ['client'] }),
    proxy: await issueCertificate(frontProxyCA, { commonName: 'front-proxy-client', usages: ['client'] }),
    'rogue-proxy': await issueCertificate(frontProxyCA, { commonName: 'not-the-proxy', usages: ['client'] }),
    untrusted: await issueCertificate(otherCA, { commonName: 'it-admin', organizations: ['system:masters'], usages: ['client'] }),
  };
  await writeFile(join(dir, 'client-ca.crt'), clientCA.cert);
  await writeFile(join(dir, 'front-proxy-ca.crt'), frontProxyCA.cert);
  await writeFile(join(dir, 'token'), fake.adminToken);

  const o = parseOptions([
    '--app=aggregated-apiserver',
    `--coder-url=${fake.url}`,
    `--coder-session-token-file=${join(dir, 'token')}`,
    `--coder-namespace=${NAMESPACE}`,
    '--bind-address=127.0.0.1',
    '--secure-port=0',
    `--cert-dir=${join(dir, 'serving')}`,
    `--client-ca-file=${join(dir, 'client-ca.crt')}`,
    `--requestheader-client-ca-file=${join(dir, 'front-proxy-ca.crt')}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--template-build-wait=3s',
    '--workspace-build-wait=3s',
    ...(options.flags ?? []),
  ]);
  const metrics = createMetrics({ defaultMetrics: false });
  const authorizer = new RecordingAuthorizer();
  const started = await startStaticAPIServer(o, {
    logger: options.logger ?? nullLogger(),
    metrics,
    ready: () => true,
    authorizer,
    ...(options.namespaces ? { namespaces: options.namespaces } : {}),
  });
  // Tests may stop the server themselves (shutdown behaviour); close() then does not stop it again.
  let stopped: Promise<void> | undefined;
  const api: RunningAPIServer = { ...started, stop: () => (stopped ??= started.stop()) };
  const ca = api.caCert ?? '';
  const agents = new Map<Identity, Agent>();
  const agents1 = new Map<Identity, Agent>();
  const agentFor = (as: Identity, http1 = false): Agent => {
    const pool = http1 ? agents1 : agents;
    let agent = pool.get(as);
    if (!agent) {
      const creds = as === 'none' ? {} : { cert: identities[as].cert, key: identities[as].key };
      agent = new Agent({ connect: { ca, ...creds, servername: 'localhost' }, allowH2: !http1 });
      pool.set(as, agent);
    }
    return agent;
  };
  const baseUrl = `https://127.0.0.1:${api.port}`;
  /** Requests sent at once over one session of Node's HTTP/2 client, which sends repeated header fields one by one, as Go's does. */
  const http2Requests = (requests: Record<string, string | string[]>[], as: Identity) =>
    new Promise<{ status: number; body: string }[]>((resolve, reject) => {
      const creds = as === 'none' ? {} : { cert: identities[as].cert, key: identities[as].key };
      const session = connect(baseUrl, { ca, ...creds, servername: 'localhost' });
      session.once('error', reject);
      const answers = requests.map(
        (headers) =>
          new Promise<{ status: number; body: string }>((done, fail) => {
            const stream = session.request(headers);
            let status = 0;
            const chunks: Buffer[] = [];
            stream.once('response', (h) => (status = Number(h[':status'])));
            stream.on('data', (c: Buffer) => chunks.push(c));
            stream.once('error', fail);
            stream.once('end', () => {
              done({ status, body: Buffer.concat(chunks).toString('utf8') });
            });
          }),
      );
      Promise.all(answers).then(
        (all) => {
          session.close();
          resolve(all);
        },
        (err: unknown) => {
          session.destroy();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });

  return {
    fake,
    api,
    metrics,
    authorizer,
    baseUrl,
    async request(method, path, opts = {}, as = 'admin') {
      const headers: Record<string, string | string[]> = { accept: opts.accept ?? 'application/json', ...opts.headers };
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
        headers['content-type'] = opts.contentType ?? 'application/json';
      }
      const res = await request(baseUrl + path, { method: method as 'GET', headers, body, dispatcher: agentFor(as, opts.http1), ...(opts.signal ? { signal: opts.signal } : {}) });
      const text = await res.body.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // plain-text bodies (health) stay strings
      }
      return { status: res.statusCode, headers: res.headers, body: parsed as never, text };
    },
    async raw(method, path, headers) {
      const res = await request(baseUrl + path, { method: method as 'GET', headers, dispatcher: agentFor('admin') });
      return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
    },
    async http2(path, headers, as = 'admin') {
      const [answer] = await http2Requests([{ ':path': path, ...headers }], as);
      if (!answer) throw new Error('no HTTP/2 answer');
      return answer;
    },
    http2Many(path, count) {
      return http2Requests(Array.from({ length: count }, () => ({ ':path': path })), 'admin');
    },
    watch(path, accept) {
      return openWatch(baseUrl + path, agentFor('admin'), accept);
    },
    async close() {
      await Promise.all([...agents.values(), ...agents1.values()].map((a) => a.destroy()));
      await api.stop();
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A logger whose lines (JSON) a test reads back. */
export function capturedLogger(level: LogLevel = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level, transports: [new winston.transports.Stream({ stream: sink })] }), lines };
}
