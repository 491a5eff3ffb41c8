import { createHash } from 'node:crypto';
import type { KubeObject } from '../api/meta/types.ts';

/**
 * Objects are views of Coder with no storage of their own, so the resourceVersion is
 * derived from content: any change Coder reports changes it, which is what optimistic
 * concurrency needs. spec.files is left out because LIST omits it; the active version ID,
 * which changes with the files, is part of the hash instead.
 */
export function contentResourceVersion(object: KubeObject & { spec?: object }): string {
  const { resourceVersion: _rv, ...metadata } = object.metadata;
  const spec = { ...(object.spec ?? {}) } as Record<string, unknown>;
  delete spec.files;
  const digest = createHash('sha256')
    .update(JSON.stringify({ ...object, metadata, spec }))
    .digest();
  // 48 bits keep the number exact in JSON and in clients that parse it.
  return String(digest.readUIntBE(0, 6));
}

export function withResourceVersion<T extends KubeObject & { spec?: object }>(object: T): T {
  object.metadata.resourceVersion = contentResourceVersion(object);
  return object;
}
