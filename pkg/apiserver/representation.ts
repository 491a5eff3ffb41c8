import { partialObjectMetadata, type PartialObjectMetadata } from '../api/meta/partial-object-metadata.ts';
import type { KubeObject, ListMeta, Table } from '../api/meta/types.ts';
import type { Storage } from '../storage/storage.ts';
import type { IncludeObject, ResponseForm } from './negotiation.ts';
import { StreamedList } from './streamed-list.ts';
import { toTable } from './table.ts';

/** One object in the negotiated form. */
export function renderObject<T extends KubeObject>(
  form: ResponseForm,
  storage: Storage<T>,
  object: T,
  includeObject: IncludeObject,
  headers = true,
): T | Table | PartialObjectMetadata {
  if (form === 'metadata') return partialObjectMetadata(object);
  if (form === 'object') return object;
  const table = toTable(storage.columns, (o: T) => storage.row(o), [object], includeObject);
  if (!headers) table.columnDefinitions = [];
  return table;
}

/** A list in the negotiated form; long ones are written item by item (StreamedList). */
export function renderList<T extends KubeObject>(form: ResponseForm, storage: Storage<T>, items: T[], metadata: ListMeta, includeObject: IncludeObject): StreamedList {
  if (form === 'table') {
    const { rows, ...table } = toTable(storage.columns, (o: T) => storage.row(o), items, includeObject);
    return new StreamedList({ ...table, metadata }, 'rows', rows);
  }
  if (form === 'metadata') {
    return new StreamedList({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata }, 'items', items.map(partialObjectMetadata));
  }
  const info = storage.info;
  return new StreamedList({ apiVersion: `${info.group}/${info.version}`, kind: info.listKind, metadata }, 'items', items);
}
