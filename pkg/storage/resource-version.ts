import { createHash } from 'node:crypto';
import type { KubeObject } from '../api/meta/types.ts';

/**
 * Objects are views of Coder with no storage of their own, so the resourceVersion is
 * derived from content: any change Coder reports changes it, which is what optimistic
 * concurrency needs. Fields only GET fills in are left out so GET and LIST agree:
 * spec.files (the active version ID, which changes with them, is hashed instead) and
 * status.latestVersionBuild (a build that has not changed the object yet).
 */
export function contentResourceVersion(object: KubeObject & { spec?: object; status?: object }): string {
  const { resourceVersion: _rv, ...metadata } = object.metadata;
  const spec = { ...(object.spec ?? {}) } as Record<string, unknown>;
  delete spec.files;
  const status = { ...(object.status ?? {}) } as Record<string, unknown>;
  delete status.latestVersionBuild;
  const digest = createHash('sha256')
    .update(JSON.stringify({ ...object, metadata, spec, status }))
    .digest();
  // 48 bits keep the number exact in JSON and in clients that parse it.
  return String(digest.readUIntBE(0, 6));
}

export function withResourceVersion<T extends KubeObject & { spec?: object; status?: object }>(object: T): T {
  object.metadata.resourceVersion = contentResourceVersion(object);
  return object;
}
