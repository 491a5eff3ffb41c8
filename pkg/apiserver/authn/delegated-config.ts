import type { X509Certificate } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { ResilientInformer } from '../../kube/informer.ts';
import type { Logger } from '../../logging/logger.ts';
import type { RequestHeaderConfig } from './request-header.ts';
import { parseCertificates } from './x509.ts';

export const AUTH_CONFIGMAP_NAMESPACE = 'kube-system';
export const AUTH_CONFIGMAP_NAME = 'extension-apiserver-authentication';

export interface AuthenticationConfig {
  clientCAs: readonly X509Certificate[];
  requestHeader: RequestHeaderConfig | undefined;
}

function jsonList(value: string | undefined, key: string): string[] {
  if (!value) return [];
  const parsed: unknown = JSON.parse(value);
  if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) {
    throw new Error(`${key} is not a JSON array of strings`);
  }
  return parsed;
}

/**
 * Reads kube-apiserver's extension-apiserver-authentication ConfigMap: the client CA for
 * x509 users and the front-proxy (requestheader) CA, allowed names and header names.
 */
export function parseAuthenticationConfigMap(cm: V1ConfigMap): AuthenticationConfig {
  const data = cm.data ?? {};
  const clientCAs = data['client-ca-file'] ? parseCertificates(data['client-ca-file']) : [];
  const requestHeaderCA = data['requestheader-client-ca-file'];
  const requestHeader = requestHeaderCA
    ? {
        roots: parseCertificates(requestHeaderCA),
        allowedNames: jsonList(data['requestheader-allowed-names'], 'requestheader-allowed-names'),
        usernameHeaders: jsonList(data['requestheader-username-headers'], 'requestheader-username-headers'),
        groupHeaders: jsonList(data['requestheader-group-headers'], 'requestheader-group-headers'),
        extraHeaderPrefixes: jsonList(data['requestheader-extra-headers-prefix'], 'requestheader-extra-headers-prefix'),
      }
    : undefined;
  return { clientCAs, requestHeader };
}

/**
 * Keeps the authentication ConfigMap's contents current through a watch, so rotated CAs
 * and changed allowed names apply without a restart. A ConfigMap that does not parse is
 * logged and the last good configuration kept.
 */
export class AuthenticationConfigWatcher {
  readonly #informer: ResilientInformer<V1ConfigMap>;
  readonly #logger: Logger;
  #config: AuthenticationConfig = { clientCAs: [], requestHeader: undefined };
  #loaded = false;

  constructor(kubeConfig: KubeConfig, logger: Logger) {
    this.#logger = logger;
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const fieldSelector = `metadata.name=${AUTH_CONFIGMAP_NAME}`;
    this.#informer = new ResilientInformer<V1ConfigMap>({
      kubeConfig,
      path: `/api/v1/namespaces/${AUTH_CONFIGMAP_NAMESPACE}/configmaps`,
      list: () => core.listNamespacedConfigMap({ namespace: AUTH_CONFIGMAP_NAMESPACE, fieldSelector }),
      fieldSelector,
      logger,
    });
    this.#informer.addHandler({
      onUpsert: (cm) => {
        this.#update(cm);
      },
    });
  }

  get config(): AuthenticationConfig {
    return this.#config;
  }

  /** True once a ConfigMap has been read (readiness). */
  get loaded(): boolean {
    return this.#loaded;
  }

  async start(timeoutMs: number): Promise<void> {
    await this.#informer.start();
    if (!(await this.#informer.waitForSync(timeoutMs))) {
      this.#logger.warn('authentication ConfigMap not listed yet; requests stay unauthenticated until it is', {
        configMap: `${AUTH_CONFIGMAP_NAMESPACE}/${AUTH_CONFIGMAP_NAME}`,
      });
    }
  }

  stop(): Promise<void> {
    return this.#informer.stop();
  }

  #update(cm: V1ConfigMap): void {
    try {
      this.#config = parseAuthenticationConfigMap(cm);
      this.#loaded = true;
      this.#logger.info('loaded authentication configuration', {
        clientCAs: this.#config.clientCAs.length,
        requestHeaderCAs: this.#config.requestHeader?.roots.length ?? 0,
        allowedNames: this.#config.requestHeader?.allowedNames,
        resourceVersion: cm.metadata?.resourceVersion,
      });
    } catch (err) {
      this.#logger.error('ignoring unparseable authentication ConfigMap', { error: err instanceof Error ? err.message : String(err) });
    }
  }
}
