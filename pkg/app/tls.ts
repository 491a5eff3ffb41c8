import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { selfSignedServing } from '../certs/certs.ts';
import type { Logger } from '../logging/logger.ts';
import type { Options } from './options.ts';

export interface ServingTLS {
  cert: string;
  key: string;
  /** CA of a self-signed certificate (the APIService caBundle); absent for user certificates. */
  caCert?: string;
}

/** Hosts a generated serving certificate covers: loopback plus the Service's DNS names. */
export function servingHosts(o: Pick<Options, 'serviceName' | 'serviceNamespace'>): string[] {
  const svc = `${o.serviceName}.${o.serviceNamespace}`;
  return ['localhost', '127.0.0.1', '::1', o.serviceName, svc, `${svc}.svc`, `${svc}.svc.cluster.local`];
}

export async function loadServingTLS(o: Options, logger: Logger): Promise<ServingTLS> {
  if (o.tlsCertFile && o.tlsPrivateKeyFile) {
    return { cert: await readFile(o.tlsCertFile, 'utf8'), key: await readFile(o.tlsPrivateKeyFile, 'utf8') };
  }
  const hosts = servingHosts(o);
  const generated = await selfSignedServing(hosts);
  if (o.certDir) {
    await mkdir(o.certDir, { recursive: true });
    await writeFile(join(o.certDir, 'apiserver.crt'), generated.cert);
    await writeFile(join(o.certDir, 'apiserver.key'), generated.key, { mode: 0o600 });
    await writeFile(join(o.certDir, 'ca.crt'), generated.caCert);
  }
  logger.info('generated a self-signed serving certificate', { hosts, certDir: o.certDir });
  return { cert: generated.cert, key: generated.key, caCert: generated.caCert };
}
