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
  readonly queue = new RateLimitingQueue();
  readonly #options: ControllerOptions;
  #workers: Promise<void>[] = [];

  constructor(options: ControllerOptions) {
    this.#options = options;
  }

  get name(): string {
    return this.#options.name;
  }

  enqueue(key: string): void {
    this.queue.add(key);
    this.#options.metrics.workqueueDepth.set({ name: this.name }, this.queue.length);
  }

  start(): void {
    const n = this.#options.workers ?? 2;
    this.#workers = Array.from({ length: n }, () => this.#work());
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.#workers);
  }

  async #work(): Promise<void> {
    const { name, reconcile, logger, metrics } = this.#options;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      metrics.workqueueDepth.set({ name }, this.queue.length);
      const end = metrics.reconcileDuration.startTimer({ controller: name });
      try {
        const result = await reconcile(key);
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) {
          this.queue.addAfter(key, result.requeueAfterMs);
          metrics.reconcileTotal.inc({ controller: name, result: 'requeue_after' });
        } else {
          metrics.reconcileTotal.inc({ controller: name, result: 'success' });
        }
      } catch (err) {
        metrics.reconcileTotal.inc({ controller: name, result: 'error' });
        metrics.reconcileErrors.inc({ controller: name });
        const delay = this.queue.when(key);
        logger.warn('reconcile failed; retrying', { controller: name, key, retryInMs: delay, error: describeKubeError(err) });
        this.queue.addAfter(key, delay);
      } finally {
        end();
        this.queue.done(key);
      }
    }
  }
}
