import type { ResourceInfo } from '../api/aggregation/v1alpha1/resources.ts';
import type { KubeObject, TableColumnDefinition } from '../api/meta/types.ts';
import type { StorageContext } from './context.ts';

export interface DeleteResult<T> {
  /** The object as it was (finished) or as it is while Coder finishes deleting it. */
  object: T;
  /** False when Coder accepted the deletion but has not finished it yet (202). */
  finished: boolean;
}

/**
 * One resource's storage, in the shape of sample-apiserver's REST storage: the API server
 * handles HTTP, negotiation, patching, selectors, paging and preconditions; a storage only
 * translates between Kubernetes objects and Coder calls for one namespace's Coder.
 */
export interface Storage<T extends KubeObject> {
  readonly info: ResourceInfo;
  readonly columns: readonly TableColumnDefinition[];
  row(object: T): unknown[];
  /** Fields a field selector may name, and their values (sample-apiserver's GetAttrs): one definition for LIST and WATCH. */
  readonly selectableFields: Readonly<Record<string, (object: T) => string>>;
  /** The object as LIST and WATCH show it: what only GET reads left out. */
  listView(object: T): T;
  get(ctx: StorageContext, name: string): Promise<T>;
  list(ctx: StorageContext): Promise<T[]>;
  create(ctx: StorageContext, object: T): Promise<T>;
  /** `current` is what get() returned; the API server has checked preconditions against it. */
  update(ctx: StorageContext, current: T, desired: T): Promise<T>;
  delete(ctx: StorageContext, current: T): Promise<DeleteResult<T>>;
}

/** The field selectors every resource supports, as kube-apiserver supports them for every kind. */
export const OBJECT_META_FIELDS = {
  'metadata.name': (o: KubeObject) => o.metadata.name ?? '',
  'metadata.namespace': (o: KubeObject) => o.metadata.namespace ?? '',
} as const;
