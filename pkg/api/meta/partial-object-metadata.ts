import type { KubeObject } from './types.ts';

/** meta.k8s.io/v1 PartialObjectMetadata: what metadata-only clients (and Table rows) carry of an object. */
export interface PartialObjectMetadata {
  kind: 'PartialObjectMetadata';
  apiVersion: 'meta.k8s.io/v1';
  metadata: KubeObject['metadata'];
}

export function partialObjectMetadata(object: KubeObject): PartialObjectMetadata {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
}
