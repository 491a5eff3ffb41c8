import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { isNotFound } from './errors.ts';

/** A Secret key's value as trimmed UTF-8 ('' when the key is absent). */
export function secretValue(secret: V1Secret | undefined, key: string): string {
  return Buffer.from(secret?.data?.[key] ?? '', 'base64').toString('utf8').trim();
}

/** Reads a Secret; undefined when it does not exist. */
export async function readSecret(core: CoreV1Api, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ name, namespace });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
