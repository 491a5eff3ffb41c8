import { X509Certificate } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { GROUP, VERSION } from '../api/aggregation/v1alpha1/types.ts';
import { selfSignedServing } from '../certs/certs.ts';
import type { Logger } from '../logging/logger.ts';
import type { ServingTLS as ServingPair } from '../apiserver/transport.ts';
import type { Options } from './options.ts';

export interface ServingTLS extends ServingPair {
  /** CA of a self-signed certificate (the APIService caBundle); absent for user certificates. */
  caCert?: string;
}

/** Hosts a generated serving certificate covers: loopback plus the Service's DNS names. */
export function servingHosts(o: Pick<Options, 'serviceName' | 'serviceNamespace'>): string[] {
  const svc = `${o.serviceName}.${o.serviceNamespace}`;
  return ['localhost', '127.0.0.1', '::1', o.serviceName, svc, `${svc}.svc`, `${svc}.svc.cluster.local`];
}

interface ServingCertificate {
  tls: ServingTLS;
  /** Follows rotations (files or the Secret); returns what stops following. */
  follow(apply: (tls: ServingTLS) => void): () => void;
}

/**
 * The serving certificate, from (in order) --tls-cert-file and --tls-private-key-file
 * (followed), --serving-cert-secret (shared by every replica, renewed, the APIService
 * caBundle kept in sync), or a self-signed one made at start (written to --cert-dir).
 */
export async function servingCertificate(o: Options, logger: Logger): Promise<ServingCertificate> {
  if (o.servingCertSecret && !(o.tlsCertFile && o.tlsPrivateKeyFile)) {
    const [{ ServingCertificateSecret }, { loadKubeConfig }] = await Promise.all([import('../servingcert/secret.ts'), import('../kube/kubeconfig.ts')]);
    const secret = new ServingCertificateSecret({
      kubeConfig: loadKubeConfig(o.kubeconfig),
      namespace: o.serviceNamespace,
      name: o.servingCertSecret,
      hosts: servingHosts(o),
      apiService: `${VERSION}.${GROUP}`,
      logger,
    });
    const pair = await secret.ensure();
    return { tls: pair, follow: (apply) => secret.follow(pair, apply) };
  }
  const tls = await loadServingTLS(o, logger);
  return { tls, follow: (apply) => followServingFiles(o, logger, apply, tls) };
}

async function loadServingTLS(o: Options, logger: Logger): Promise<ServingTLS> {
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

/**
 * Follows --tls-cert-file and --tls-private-key-file: a rotated certificate (a Secret
 * volume swaps its files, cert-manager renews) is served to new connections without a
 * restart. Directory events trigger a re-read (debounced); a slow poll catches anything
 * the events miss. A pair that does not load keeps the previous one, with a warning.
 */
function followServingFiles(
  o: Pick<Options, 'tlsCertFile' | 'tlsPrivateKeyFile'>,
  logger: Logger,
  apply: (tls: ServingTLS) => void,
  current: ServingTLS,
): () => void {
  const certFile = o.tlsCertFile;
  const keyFile = o.tlsPrivateKeyFile;
  if (!certFile || !keyFile) return () => undefined;
  let served = current;
  let pending: NodeJS.Timeout | undefined;
  const reload = async () => {
    try {
      const next = { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
      if (next.cert === served.cert && next.key === served.key) return;
      createSecureContext(next);
      apply(next);
      served = next;
      logger.info('serving certificate reloaded', { certFile, expires: new X509Certificate(next.cert).validTo });
    } catch (err) {
      logger.warn('serving certificate files do not load; still serving the previous certificate', {
        certFile,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  };
  const schedule = () => {
    clearTimeout(pending);
    pending = setTimeout(() => void reload(), 200);
  };
  const watchers = [...new Set([dirname(certFile), dirname(keyFile)])].map((d) => watch(d, schedule));
  const poll = setInterval(() => void reload(), 60_000);
  poll.unref();
  return () => {
    clearTimeout(pending);
    clearInterval(poll);
    for (const w of watchers) w.close();
  };
}
