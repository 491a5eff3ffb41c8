import { cancelWith, uncancellable } from '../coder/cancellation.ts';
import type { Logger } from '../logging/logger.ts';

/**
 * Work a request started but may not finish inside its deadline (a template build that
 * outlasts the proxy timeout, a stop queued behind a running build). Every task gets a
 * signal that aborts on shutdown so the process can exit promptly.
 */
export class BackgroundTasks {
  readonly #abort = new AbortController();
  readonly #running = new Set<Promise<void>>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  get size(): number {
    return this.#running.size;
  }

  /** Runs `task`; `settled` is called once it has ended, whether it ran, failed or was never started. */
  run(name: string, task: (signal: AbortSignal) => Promise<void>, settled?: () => void): void {
    if (this.#abort.signal.aborted) {
      this.#logger.warn('background task not started: shutting down', { task: name });
      settled?.();
      return;
    }
    // Outlives the request that started it: only shutdown cancels its Coder requests.
    const signal = this.#abort.signal;
    const promise = uncancellable(() => cancelWith(signal, () => task(signal)))
      .catch((err: unknown) => {
        this.#logger.error('background task failed', { task: name, error: err instanceof Error ? err.message : String(err) });
      })
      .finally(() => {
        this.#running.delete(promise);
        settled?.();
      });
    this.#running.add(promise);
  }

  /** Resolves when every task has finished (tests poll on this instead of sleeping). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  async shutdown(): Promise<void> {
    this.#abort.abort();
    await this.idle();
  }
}
