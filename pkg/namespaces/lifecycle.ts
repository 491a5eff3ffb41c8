import { CoreV1Api, type KubeConfig, type V1Namespace } from '@kubernetes/client-node';
import { isNotFound } from '../kube/errors.ts';
import { ResilientInformer } from '../kube/informer.ts';
import type { Logger } from '../logging/logger.ts';

/** Where a namespace is in its life: serving, being deleted, or not there at all. */
export type NamespacePhase = 'Active' | 'Terminating' | 'Absent';

/** What the API server asks about namespaces; see NamespaceLifecycle. */
export interface NamespacePhases {
  /**
   * The namespace's phase from the informer cache. A namespace the cache does not know
   * (just created, or never existed) and, with `live`, any namespace the cache believes
   * Active is read from kube-apiserver instead, so a destructive request never acts on a
   * cache that has not yet seen the namespace being deleted.
   */
  phase(namespace: string, options?: { live?: boolean }): Promise<NamespacePhase>;
  readonly synced: boolean;
}

export interface NamespaceLifecycleOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
}

function phaseOf(namespace: V1Namespace): NamespacePhase {
  // kube-apiserver sets both when a namespace is deleted; either one is enough.
  return namespace.metadata?.deletionTimestamp || namespace.status?.phase === 'Terminating' ? 'Terminating' : 'Active';
}

/**
 * Tracks every Namespace's phase with an informer, as kube-apiserver's NamespaceLifecycle
 * admission plugin does. The aggregated objects are views of a Coder deployment that a
 * namespace does not own, so a namespace being deleted must show none of them and its
 * deletion must never reach Coder; this is decided from the namespace itself, whoever asks.
 */
export class NamespaceLifecycle implements NamespacePhases {
  readonly #core: CoreV1Api;
  readonly #informer: ResilientInformer<V1Namespace>;

  constructor(options: NamespaceLifecycleOptions) {
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#informer = new ResilientInformer<V1Namespace>({
      kubeConfig: options.kubeConfig,
      path: '/api/v1/namespaces',
      list: () => this.#core.listNamespace(),
      logger: options.logger.child({ informer: 'namespaces' }),
    });
  }

  get synced(): boolean {
    return this.#informer.synced;
  }

  async start(syncTimeoutMs: number): Promise<boolean> {
    await this.#informer.start();
    return this.#informer.waitForSync(syncTimeoutMs);
  }

  stop(): Promise<void> {
    return this.#informer.stop();
  }

  async phase(namespace: string, options: { live?: boolean } = {}): Promise<NamespacePhase> {
    const cached = this.#informer.get(namespace);
    if (cached && (phaseOf(cached) === 'Terminating' || !options.live)) return phaseOf(cached);
    try {
      return phaseOf(await this.#core.readNamespace({ name: namespace }));
    } catch (err) {
      if (isNotFound(err)) return 'Absent';
      throw err;
    }
  }
}
