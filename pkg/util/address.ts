import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BindAddress {
  host: string;
  port: number;
}

/** Parses "host:port", ":port" or "[v6]:port"; "0" means disabled (controller-runtime's convention). */
export function parseBindAddress(value: string, flag: string): BindAddress | undefined {
  if (value === '0') return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new Error(`${flag}: expected host:port, :port or 0 (disabled), got "${value}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** Starts a plain HTTP server and resolves with the port it bound. */
export async function listen(address: BindAddress, handler: RequestListener): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

export async function close(server: Server | undefined): Promise<void> {
  if (!server) return;
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}
