import { cancelWith } from '../coder/cancellation.ts';
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
  /** Aborted by stop(): the Coder requests of reconciles in flight end with it. */
  #running = new AbortController();

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
    this.#running = new AbortController();
    const n = this.#options.workers ?? 2;
    const queue = this.#queue;
    const signal = this.#running.signal;
    this.#workers = Array.from({ length: n }, () => this.#work(queue, signal));
  }

  /**
   * No new reconciles start, and those in flight lose their Coder requests at once (a replica
   * that lost its lease must stop acting; reconciles are level-triggered, so the next leader
   * redoes what was cut). Resolves when they have returned, or after `graceMs` at most: a
   * Kubernetes request that hangs must not keep a replica from campaigning or shutting down.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.#queue.shutDown();
    this.#running.abort(new Error('the controller stopped'));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        resolve(true);
      }, graceMs);
    });
    const timedOut = await Promise.race([Promise.all(this.#workers).then(() => false), late]);
    clearTimeout(timer);
    if (timedOut) this.#options.logger.warn('reconciles still running after the controller stopped; not waiting for them', { controller: this.name, waitedMs: graceMs });
  }

  async #work(queue: RateLimitingQueue, signal: AbortSignal): Promise<void> {
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
        const result = await cancelWith(signal, () => reconcile(key));
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
