import type { RequestListener } from 'node:http';
import type { Registry } from 'prom-client';

/** Serves the registry at /metrics in Prometheus text format. */
export function metricsHandler(registry: Registry): RequestListener {
  return (req, res) => {
    if (req.url?.split('?')[0] !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${String(err)}\n`),
    );
  };
}
