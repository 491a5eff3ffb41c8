import { ListWatch, Watch, type KubeConfig, type KubernetesObject, type ListPromise } from '@kubernetes/client-node';
import type { Logger } from '../logging/logger.ts';
import { describeKubeError } from './errors.ts';

export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Watch path, e.g. /api/v1/namespaces/kube-system/configmaps. */
  path: string;
  list: ListPromise<T>;
  labelSelector?: string;
  fieldSelector?: string;
  logger: Logger;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * A list-watch cache that restarts itself with exponential backoff when the watch fails
 * (client-node's ListWatch stops on error) and reports when it first synced. Callbacks
 * only ever see objects; a throwing callback cannot take the process down.
 */
export interface InformerHandler<T> {
  /**
   * Adds and updates; `previous` is the object as last delivered (undefined for an add), for
   * predicates. Handlers should only record or enqueue; a throw is logged and swallowed.
   */
  onUpsert?: (object: T, previous: T | undefined) => void;
  onDelete?: (object: T) => void;
}

export class ResilientInformer<T extends KubernetesObject> {
  readonly #options: InformerOptions<T>;
  readonly #handlers: InformerHandler<T>[] = [];
  readonly #listWatch: ListWatch<T>;
  #synced = false;
  #stopped = false;
  #backoffMs: number;
  #retry: NodeJS.Timeout | undefined;
  readonly #syncWaiters: (() => void)[] = [];
  /** The objects as last delivered, by namespace/name: the "old" side of an update. */
  readonly #delivered = new Map<string, T>();

  constructor(options: InformerOptions<T>) {
    this.#options = options;
    this.#backoffMs = options.initialBackoffMs ?? 500;
    this.#listWatch = new ListWatch<T>(
      options.path,
      new Watch(options.kubeConfig),
      async () => {
        const list = await options.list();
        // Only a successful list resets the backoff (ListWatch emits "connect" before listing).
        this.#backoffMs = options.initialBackoffMs ?? 500;
        this.#markSynced();
        return list;
      },
      false,
      options.labelSelector,
      options.fieldSelector,
    );
    const dispatch = (what: 'upsert' | 'delete') => (object: T) => {
      const key = `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
      const previous = this.#delivered.get(key);
      if (what === 'upsert') this.#delivered.set(key, object);
      else this.#delivered.delete(key);
      for (const handler of this.#handlers) {
        try {
          if (what === 'upsert') handler.onUpsert?.(object, previous);
          else handler.onDelete?.(object);
        } catch (err) {
          options.logger.error('informer handler failed', { path: options.path, event: what, error: String(err) });
        }
      }
    };
    this.#listWatch.on('add', dispatch('upsert'));
    this.#listWatch.on('update', dispatch('upsert'));
    this.#listWatch.on('delete', dispatch('delete'));
    this.#listWatch.on('error', (err: unknown) => {
      this.#scheduleRestart(err);
    });
  }

  addHandler(handler: InformerHandler<T>): void {
    this.#handlers.push(handler);
  }

  get synced(): boolean {
    return this.#synced;
  }

  list(): readonly T[] {
    return this.#listWatch.list();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#listWatch.get(name, namespace);
  }

  async start(): Promise<void> {
    this.#stopped = false;
    try {
      await this.#listWatch.start();
    } catch (err) {
      this.#scheduleRestart(err);
    }
  }

  /** Resolves once the first list has been delivered (or the timeout passes: false). */
  waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        resolve(false);
      }, timeoutMs);
      this.#syncWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.#listWatch.stop();
  }

  #markSynced(): void {
    if (this.#synced) return;
    // The list resolves before ListWatch replays it as add events; mark on the next tick.
    setImmediate(() => {
      this.#synced = true;
      for (const waiter of this.#syncWaiters.splice(0)) waiter();
    });
  }

  #scheduleRestart(err: unknown): void {
    if (this.#stopped) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#options.maxBackoffMs ?? 30_000);
    this.#options.logger.warn('watch failed; restarting', { path: this.#options.path, delayMs: delay, error: describeKubeError(err) });
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      if (this.#stopped) return;
      this.#listWatch.start().catch((e: unknown) => {
        this.#scheduleRestart(e);
      });
    }, delay);
  }
}
