import { describeKubeError } from '../kube/errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { RateLimitingQueue } from './workqueue.ts';

export interface ReconcileResult {
  /** Reconcile again after this delay even without events (level-triggered resync). */
  requeueAfterMs?: number;
}

export type Reconciler = (key: string) => Promise<ReconcileResult | undefined>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  workers?: number;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Runs a reconciler over a work queue with N workers, controller-runtime style: informer
 * handlers only enqueue keys; a failed reconcile is retried with backoff; a successful one
 * resets the backoff and may ask to be requeued after a delay.
 */
export class Controller {
  readonly #options: ControllerOptions;
  #queue = new RateLimitingQueue();
  #workers: Promise<void>[] = [];

  constructor(options: ControllerOptions) {
    this.#options = options;
  }

  get name(): string {
    return this.#options.name;
  }

  enqueue(key: string): void {
    this.#queue.add(key);
    this.#options.metrics.workqueueDepth.set({ name: this.name }, this.#queue.length);
  }

  /** Starts the workers; after stop(), with a fresh queue (a replica that leads again re-lists). */
  start(): void {
    if (this.#queue.shuttingDown) this.#queue = new RateLimitingQueue();
    const n = this.#options.workers ?? 2;
    const queue = this.#queue;
    this.#workers = Array.from({ length: n }, () => this.#work(queue));
  }

  /** No new reconciles start; resolves when those in flight have finished. */
  async stop(): Promise<void> {
    this.#queue.shutDown();
    await Promise.all(this.#workers);
  }

  async #work(queue: RateLimitingQueue): Promise<void> {
    const { name, reconcile, logger, metrics } = this.#options;
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      // A stopped controller (leadership lost) starts nothing more, queued or not.
      if (queue.shuttingDown) {
        queue.done(key);
        return;
      }
      metrics.workqueueDepth.set({ name }, queue.length);
      const end = metrics.reconcileDuration.startTimer({ controller: name });
      try {
        const result = await reconcile(key);
        queue.forget(key);
        if (result?.requeueAfterMs !== undefined) {
          queue.addAfter(key, result.requeueAfterMs);
          metrics.reconcileTotal.inc({ controller: name, result: 'requeue_after' });
        } else {
          metrics.reconcileTotal.inc({ controller: name, result: 'success' });
        }
      } catch (err) {
        metrics.reconcileTotal.inc({ controller: name, result: 'error' });
        metrics.reconcileErrors.inc({ controller: name });
        const delay = queue.when(key);
        logger.warn('reconcile failed; retrying', { controller: name, key, retryInMs: delay, error: describeKubeError(err) });
        queue.addAfter(key, delay);
      } finally {
        end();
        queue.done(key);
      }
    }
  }
}
