import { X509Certificate } from 'node:crypto';
import { ApiregistrationV1Api, CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { createCertificateAuthority, issueCertificate, loadCertificateAuthority } from '../certs/certs.ts';
import { describeKubeError, isConflict, isNotFound } from '../kube/errors.ts';
import { readSecret } from '../kube/secrets.ts';
import type { Logger } from '../logging/logger.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface ServingPair {
  cert: string;
  key: string;
  caCert: string;
}

export interface ServingSecretOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  /** DNS names and addresses the serving certificate covers. */
  hosts: string[];
  /** The APIService whose caBundle must trust the CA. */
  apiService: string;
  logger: Logger;
  /** Renew the serving certificate this long before it expires. */
  renewBeforeMs?: number;
  /** How often the Secret is re-read (another replica renewed) and the APIService checked. */
  checkIntervalMs?: number;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const text = (secret: V1Secret, key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');

/**
 * The serving certificate every replica shares, kept in a Secret, for installs without the
 * Helm chart: the first replica creates a CA (10 years) and a serving certificate (1 year),
 * any replica renews the certificate from the same CA before it expires (the Secret's
 * resourceVersion decides who wins a race), and the APIService's caBundle is kept equal to
 * the CA — so restarts, new replicas and renewals never leave kube-apiserver distrusting
 * the server.
 */
export class ServingCertificateSecret {
  readonly #o: ServingSecretOptions;
  readonly #core: CoreV1Api;
  readonly #registration: ApiregistrationV1Api;

  constructor(options: ServingSecretOptions) {
    this.#o = options;
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#registration = options.kubeConfig.makeApiClient(ApiregistrationV1Api);
  }

  /** The current pair: read, created or renewed as needed; the APIService is brought in line. */
  async ensure(): Promise<ServingPair> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const secret = await this.#read();
      try {
        const pair = secret ? await this.#renewedIfDue(secret) : await this.#create();
        await this.#syncAPIService(pair.caCert);
        return pair;
      } catch (err) {
        // Another replica created or renewed it first: use theirs.
        if (!isConflict(err)) throw err;
      }
    }
    throw new Error(`Secret ${this.#o.namespace}/${this.#o.name} keeps changing under this replica; giving up`);
  }

  /** Re-checks periodically; `apply` gets a pair another replica (or this one) renewed. */
  follow(current: ServingPair, apply: (pair: ServingPair) => void): () => void {
    let served = current;
    const timer = setInterval(() => {
      void this.ensure().then(
        (pair) => {
          if (pair.cert === served.cert && pair.key === served.key) return;
          served = pair;
          apply(pair);
          this.#o.logger.info('serving certificate replaced from its Secret', { secret: `${this.#o.namespace}/${this.#o.name}`, expires: new X509Certificate(pair.cert).validTo });
        },
        (err: unknown) => {
          this.#o.logger.warn('cannot check the serving certificate Secret; still serving the current one', { error: describeKubeError(err) });
        },
      );
    }, this.#o.checkIntervalMs ?? 10 * 60_000);
    timer.unref();
    return () => {
      clearInterval(timer);
    };
  }

  #read(): Promise<V1Secret | undefined> {
    return readSecret(this.#core, this.#o.namespace, this.#o.name);
  }

  async #create(): Promise<ServingPair> {
    const ca = await createCertificateAuthority(`coder-k8s-ca@${Math.floor(Date.now() / 1000)}`, 3650);
    const leaf = await issueCertificate(ca, { commonName: this.#o.hosts[0] ?? 'localhost', hosts: this.#o.hosts, usages: ['server'], days: 365 });
    await this.#core.createNamespacedSecret({
      namespace: this.#o.namespace,
      body: {
        metadata: { name: this.#o.name, namespace: this.#o.namespace, labels: { 'app.kubernetes.io/name': 'coder-k8s', 'app.kubernetes.io/component': 'serving-certificate' } },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': b64(leaf.cert), 'tls.key': b64(leaf.key), 'ca.crt': b64(ca.cert), 'ca.key': b64(ca.key) },
      },
    });
    this.#o.logger.info('created the serving certificate Secret', { secret: `${this.#o.namespace}/${this.#o.name}` });
    return { cert: leaf.cert, key: leaf.key, caCert: ca.cert };
  }

  async #renewedIfDue(secret: V1Secret): Promise<ServingPair> {
    const pair = { cert: text(secret, 'tls.crt'), key: text(secret, 'tls.key'), caCert: text(secret, 'ca.crt') };
    const caKey = text(secret, 'ca.key');
    if (!pair.cert || !pair.key || !pair.caCert || !caKey) {
      throw new Error(`Secret ${this.#o.namespace}/${this.#o.name} lacks tls.crt, tls.key, ca.crt or ca.key; delete it to have a new one created`);
    }
    const expires = Date.parse(new X509Certificate(pair.cert).validTo);
    const renewBefore = this.#o.renewBeforeMs ?? 30 * DAY_MS;
    if (expires - Date.now() > renewBefore) return pair;
    const ca = await loadCertificateAuthority(pair.caCert, caKey);
    const leaf = await issueCertificate(ca, { commonName: this.#o.hosts[0] ?? 'localhost', hosts: this.#o.hosts, usages: ['server'], days: 365 });
    secret.data = { ...secret.data, 'tls.crt': b64(leaf.cert), 'tls.key': b64(leaf.key) };
    // The resourceVersion read makes this a compare-and-swap: a replica that renewed first wins.
    await this.#core.replaceNamespacedSecret({ namespace: this.#o.namespace, name: this.#o.name, body: secret });
    this.#o.logger.info('renewed the serving certificate', { secret: `${this.#o.namespace}/${this.#o.name}`, previousExpiry: new Date(expires).toISOString() });
    return { cert: leaf.cert, key: leaf.key, caCert: pair.caCert };
  }

  async #syncAPIService(caCert: string): Promise<void> {
    const wanted = b64(caCert);
    for (let attempt = 0; attempt < 3; attempt++) {
      let apiService;
      try {
        apiService = await this.#registration.readAPIService({ name: this.#o.apiService });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.#o.logger.warn('the APIService does not exist (yet); its caBundle is set once it does', { apiService: this.#o.apiService });
        return;
      }
      if (!apiService.spec || apiService.spec.caBundle === wanted) return;
      apiService.spec.caBundle = wanted;
      apiService.spec.insecureSkipTLSVerify = false;
      try {
        await this.#registration.replaceAPIService({ name: this.#o.apiService, body: apiService });
        this.#o.logger.info('set the APIService caBundle to the serving CA', { apiService: this.#o.apiService });
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
  }
}
