import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<AbortSignal>();

/**
 * Coder requests sent while `work` runs are aborted when `signal` aborts: the client that
 * asked went away, or its deadline passed. Nested scopes combine. The signal travels with
 * the async context, as Go's context.Context travels with calls, so storages need no
 * extra parameter on every Coder call.
 */
export function cancelWith<R>(signal: AbortSignal, work: () => Promise<R>): Promise<R> {
  const outer = scope.getStore();
  return scope.run(outer ? AbortSignal.any([outer, signal]) : signal, work);
}

/**
 * Work that is shared by several callers (one read serving many watches) or outlives the
 * request that started it (background builds, polls): no caller's cancellation applies.
 */
export function uncancellable<R>(work: () => R): R {
  return scope.exit(work);
}

/** The signal that cancels Coder requests sent from here, if any. */
export function cancellation(): AbortSignal | undefined {
  return scope.getStore();
}
