import type { RequestListener } from 'node:http';

export type HealthCheck = () => boolean;

export interface HealthChecks {
  /** The process is alive (event loop answering). */
  live: HealthCheck;
  /** The process can serve: caches synced, listeners up, not shutting down. */
  ready: HealthCheck;
}

/** /healthz and /livez answer liveness, /readyz readiness (503 until ready). */
export function healthHandler(checks: HealthChecks): RequestListener {
  return (req, res) => {
    const path = req.url?.split('?')[0] ?? '';
    const check = path === '/readyz' || path.startsWith('/readyz/') ? checks.ready : /^\/(healthz|livez)(\/|$)/.test(path) ? checks.live : undefined;
    if (!check) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const ok = check();
    res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok' : 'not ready');
  };
}
