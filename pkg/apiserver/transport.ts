import { constants as cryptoConstants } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export type Request = IncomingMessage | Http2ServerRequest;
export type Response = ServerResponse | Http2ServerResponse;

export interface ServingTLS {
  cert: string;
  key: string;
}

/**
 * The TLS connection a request came over, the same object for every request on it (so the
 * client chain is read and verified once per connection). An HTTP/2 request's own `socket`
 * is a new proxy per stream; its session's is one per connection.
 */
export function connectionOf(req: Request): TLSSocket {
  return ('stream' in req ? req.stream.session?.socket : req.socket) as TLSSocket;
}

/** Header values as lists, lower-cased names (HTTP/2 requests have no headersDistinct). */
export function distinctHeaders(req: Request): Record<string, string[]> {
  if ('headersDistinct' in req) return req.headersDistinct as Record<string, string[]>;
  const out: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    if (name.startsWith(':')) continue;
    (out[name] ??= []).push(raw[i + 1] ?? '');
  }
  return out;
}

function secureContextOptions(tls: ServingTLS) {
  return {
    cert: tls.cert,
    key: tls.key,
    minVersion: 'TLSv1.2' as const,
    // No session tickets: a resumed session carries no client certificate, and every
    // request must be authenticated from one.
    secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
  };
}

/** Settings Node reads from the server object for the HTTP/1.1 connections it accepts beside HTTP/2. */
interface Http1Settings {
  keepAliveTimeout: number;
  requestTimeout: number;
}

/**
 * The TLS listener: HTTP/2 (so kube-apiserver's proxy multiplexes requests and long-lived
 * watches over a few connections) with HTTP/1.1 for clients that do not offer h2, a client
 * certificate requested but verified by the authenticators, no renegotiation (as Go's TLS
 * servers), and a graceful stop that drains both protocols.
 */
export class SecureListener {
  readonly #server: Http2SecureServer;
  readonly #sessions = new Set<ServerHttp2Session>();
  /** HTTP/1.1 connections and the requests each is serving. */
  readonly #http1 = new Map<TLSSocket, number>();
  #stopping = false;

  constructor(tls: ServingTLS, handle: (req: Request, res: Response) => void) {
    this.#server = createSecureServer(
      {
        ...secureContextOptions(tls),
        requestCert: true,
        rejectUnauthorized: false,
        allowHTTP1: true,
        // Node's default (10 MB of frames queued per session) refuses a large LIST written at
        // once (ENHANCE_YOUR_CALM); kube-apiserver proxies every client over a few sessions.
        maxSessionMemory: 512,
        // Go's HTTP/2 server default (kube-apiserver's too): one client cannot open streams without bound.
        settings: { maxConcurrentStreams: 250 },
      },
      (req, res) => {
        this.#track(req, res);
        handle(req, res);
      },
    );
    // Watches are long-lived: no whole-request deadline; idle keep-alive connections close after 65 s.
    Object.assign(this.#server as unknown as Http1Settings, { keepAliveTimeout: 65_000, requestTimeout: 0 } satisfies Http1Settings);
    // A connection's client certificate is the one of its handshake: read and verified once.
    this.#server.on('secureConnection', (socket: TLSSocket) => {
      socket.disableRenegotiation();
      if (socket.alpnProtocol === 'h2') return;
      this.#http1.set(socket, 0);
      socket.once('close', () => this.#http1.delete(socket));
    });
    this.#server.on('session', (session) => {
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      if (this.#stopping) session.close();
    });
  }

  /** Serves a rotated certificate to new connections. */
  setSecureContext(tls: ServingTLS): void {
    this.#server.setSecureContext(secureContextOptions(tls));
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return (this.#server.address() as AddressInfo).port;
  }

  /**
   * Stops accepting connections; HTTP/2 sessions get GOAWAY and finish their streams, idle
   * HTTP/1.1 connections close and busy ones close after their response; whatever is still
   * open when `drained` resolves (or the grace period ends) is closed.
   */
  async stop(graceMs: number, drained: () => boolean): Promise<void> {
    this.#stopping = true;
    const closed = new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
    for (const session of this.#sessions) session.close();
    this.#closeIdleHttp1();
    const deadline = Date.now() + graceMs;
    // Drained, then closed: a session closes once its last frames (a watch's end) are sent;
    // destroying it earlier would reset streams the peer has not finished reading.
    while ((!drained() || this.#sessions.size > 0 || this.#http1.size > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      this.#closeIdleHttp1();
    }
    for (const session of this.#sessions) session.destroy();
    for (const socket of this.#http1.keys()) socket.destroy();
    await closed;
  }

  #track(req: Request, res: Response): void {
    if (req.httpVersionMajor !== 1) return;
    const socket = req.socket as TLSSocket;
    this.#http1.set(socket, (this.#http1.get(socket) ?? 0) + 1);
    // While stopping, a response is the connection's last.
    if (this.#stopping) (res as ServerResponse).shouldKeepAlive = false;
    res.once('close', () => {
      const busy = this.#http1.get(socket);
      if (busy === undefined) return;
      const left = busy - 1;
      this.#http1.set(socket, left);
      if (this.#stopping && left === 0) socket.destroySoon();
    });
  }

  #closeIdleHttp1(): void {
    for (const [socket, busy] of this.#http1) if (busy === 0) socket.destroySoon();
  }
}
