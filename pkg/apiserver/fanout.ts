import { StatusError } from '../api/meta/status-error.ts';
import type { KubeObject } from '../api/meta/types.ts';
import type { StorageContext } from '../storage/context.ts';
import type { Storage } from '../storage/storage.ts';

/**
 * Lists every namespace and merges the results. One failing namespace fails the whole
 * list, naming it: a silent partial list would make informers delete objects.
 */
export async function listAllNamespaces<T extends KubeObject>(
  storage: Storage<T>,
  namespaces: string[],
  context: (namespace: string) => StorageContext,
): Promise<T[]> {
  const results = await Promise.allSettled(namespaces.map((ns) => storage.list(context(ns))));
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
    const code = worst?.code ?? 500;
    throw new StatusError(
      code >= 500 ? code : 503,
      code >= 500 ? (worst?.reason ?? 'InternalError') : 'ServiceUnavailable',
      `listing ${storage.info.plural} failed in namespace(s) ${failures.join('; ')}`,
    );
  }
  return items;
}
