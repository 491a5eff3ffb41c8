import { KubernetesObjectApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { describeKubeError, isNotFound } from '../kube/errors.ts';
import { ResilientInformer } from '../kube/informer.ts';
import type { Logger } from '../logging/logger.ts';

/** One kind of object a controller owns, watched across all namespaces. */
export interface OwnedKind {
  /** Plural resource name, for logs. */
  resource: string;
  /** Cluster-wide watch path, e.g. /api/v1/services. */
  path: string;
  list: (labelSelector: string) => Promise<KubernetesListObject<KubernetesObject>>;
  /**
   * Watched only while the API serves it (a CRD that may not be installed, such as the
   * Gateway API's HTTPRoute). Discovery decides, and is asked again until it is served.
   */
  optional?: { apiVersion: string; kind: string };
}

export interface OwnedObjectsOptions {
  kubeConfig: KubeConfig;
  kinds: readonly OwnedKind[];
  /** Selects the objects the controller made (server-side, on list and watch). */
  labelSelector: string;
  /** The owner's work-queue key, from the object (e.g. its owner labels); undefined: none. */
  owner: (object: KubernetesObject) => string | undefined;
  enqueue: (key: string) => void;
  logger: Logger;
  /** How often an optional kind that is not served is looked up again. */
  discoveryIntervalMs?: number;
}

/**
 * controller-runtime's Owns(): an informer per owned kind, label-selected, whose adds,
 * updates and deletes requeue the owner, so drift (an edited or deleted object) is
 * corrected at once instead of at the next resync. Ready once the informers that started
 * with it have listed; an optional kind whose API appears later is watched from then on
 * without holding readiness back.
 */
export class OwnedObjects {
  readonly #o: OwnedObjectsOptions;
  readonly #informers = new Map<string, ResilientInformer<KubernetesObject>>();
  /** The informers readiness waits for. */
  readonly #required: ResilientInformer<KubernetesObject>[] = [];
  readonly #discovery: Discovery;
  #waiting: OwnedKind[] = [];
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #discovering = false;

  constructor(options: OwnedObjectsOptions) {
    this.#o = options;
    this.#discovery = options.kubeConfig.makeApiClient(Discovery);
  }

  get synced(): boolean {
    return this.#required.every((i) => i.synced);
  }

  async start(): Promise<void> {
    this.#stopped = false;
    const starting: Promise<void>[] = [];
    for (const kind of this.#o.kinds) {
      if (kind.optional && !(await this.#served(kind))) {
        this.#waiting.push(kind);
        continue;
      }
      const informer = this.#watch(kind);
      this.#required.push(informer);
      starting.push(informer.start());
    }
    await Promise.all(starting);
    if (this.#waiting.length > 0) {
      this.#timer = setInterval(() => {
        void this.#discover();
      }, this.#o.discoveryIntervalMs ?? 60_000);
      this.#timer.unref();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
  }

  #watch(kind: OwnedKind): ResilientInformer<KubernetesObject> {
    const { labelSelector } = this.#o;
    const informer = new ResilientInformer<KubernetesObject>({
      kubeConfig: this.#o.kubeConfig,
      path: kind.path,
      list: () => kind.list(labelSelector),
      labelSelector,
      logger: this.#o.logger.child({ informer: kind.resource }),
    });
    const requeue = (object: KubernetesObject) => {
      const key = this.#o.owner(object);
      if (key) this.#o.enqueue(key);
    };
    informer.addHandler({ onUpsert: requeue, onDelete: requeue });
    this.#informers.set(kind.resource, informer);
    return informer;
  }

  /** Starts the optional kinds whose API is now served; one look-up round at a time. */
  async #discover(): Promise<void> {
    if (this.#discovering) return;
    this.#discovering = true;
    try {
      await this.#discoverRound();
    } finally {
      this.#discovering = false;
    }
  }

  async #discoverRound(): Promise<void> {
    const still: OwnedKind[] = [];
    for (const kind of this.#waiting) {
      const served = await this.#served(kind);
      // stop() may have run during the look-up: start nothing after it.
      if (this.#isStopped()) return;
      if (!served) {
        still.push(kind);
        continue;
      }
      this.#o.logger.info('API now served; watching owned objects', { resource: kind.resource });
      await this.#watch(kind).start();
    }
    this.#waiting = still;
    if (still.length === 0) clearInterval(this.#timer);
  }

  /** Read through a call: TypeScript would otherwise treat the flag as fixed across awaits. */
  #isStopped(): boolean {
    return this.#stopped;
  }

  async #served(kind: OwnedKind): Promise<boolean> {
    const { apiVersion, kind: k } = kind.optional ?? { apiVersion: '', kind: '' };
    try {
      return await this.#discovery.serves(apiVersion, k);
    } catch (err) {
      if (!isNotFound(err)) {
        this.#o.logger.warn('API discovery failed; trying again later', { resource: kind.resource, error: describeKubeError(err) });
      }
      return false;
    }
  }
}

/** API discovery of one kind (GET /apis/<group>/<version>, cached once served). */
class Discovery extends KubernetesObjectApi {
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.resource(apiVersion, kind)) !== undefined;
  }
}
