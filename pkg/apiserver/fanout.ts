import pLimit from 'p-limit';
import { cancelWith } from '../coder/cancellation.ts';
import { StatusError, timeout as timeoutError } from '../api/meta/status-error.ts';
import type { KubeObject } from '../api/meta/types.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { StorageContext } from '../storage/context.ts';
import type { Storage } from '../storage/storage.ts';

export interface FanoutOptions {
  /** Namespaces queried at once. */
  concurrency: number;
  /** Deadline for each namespace's list. */
  timeoutMs: number;
  metrics?: Metrics;
}

/** The namespace's list, answered with 504 at the deadline; its Coder requests are aborted then too. */
function withDeadline<T>(list: () => Promise<T>, ms: number, namespace: string): Promise<T> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = timeoutError(`no answer from namespace ${namespace} within ${ms}ms`);
      abort.abort(err);
      reject(err);
    }, ms);
  });
  return Promise.race([cancelWith(abort.signal, list), deadline]).finally(() => {
    clearTimeout(timer);
  });
}

/**
 * Lists every eligible namespace concurrently (bounded, each with a deadline) and merges the
 * results. One failing namespace fails the whole list, naming it: a silent partial list
 * would make informers delete the missing objects.
 */
export async function listAllNamespaces<T extends KubeObject>(
  storage: Pick<Storage<T>, 'info' | 'list'>,
  namespaces: string[],
  context: (namespace: string) => StorageContext,
  options: FanoutOptions,
): Promise<T[]> {
  const labels = { resource: storage.info.plural, verb: 'list' };
  const end = options.metrics?.fanoutDuration.startTimer(labels);
  options.metrics?.fanoutNamespaces.observe(labels, namespaces.length);
  const limit = pLimit(Math.max(1, options.concurrency));
  try {
    const results = await Promise.allSettled(
      namespaces.map((ns) => limit(() => withDeadline(async () => storage.list(context(ns)), options.timeoutMs, ns))),
    );
    const failures: string[] = [];
    const items: T[] = [];
    let worst: StatusError | undefined;
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') items.push(...result.value);
      else {
        const err = result.reason as unknown;
        failures.push(`${namespaces[i] ?? ''}: ${err instanceof Error ? err.message : String(err)}`);
        if (err instanceof StatusError && (!worst || err.code > worst.code)) worst = err;
      }
    });
    if (failures.length > 0) {
      const code = worst && worst.code >= 500 ? worst.code : 503;
      throw new StatusError(
        code,
        code === 503 ? 'ServiceUnavailable' : (worst?.reason ?? 'InternalError'),
        `listing ${storage.info.plural} failed in ${failures.length} of ${namespaces.length} namespace(s): ${failures.join('; ')}`,
      );
    }
    return items;
  } finally {
    end?.();
  }
}
