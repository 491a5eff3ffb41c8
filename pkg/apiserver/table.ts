import { partialObjectMetadata } from '../api/meta/partial-object-metadata.ts';
import type { KubeObject, Table, TableColumnDefinition } from '../api/meta/types.ts';
import type { IncludeObject } from './negotiation.ts';

/**
 * Human-readable age the way kubectl shows it (k8s.io/apimachinery duration.HumanDuration):
 * "45s", "12m", "5h30m", "3d", "2y40d".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 0) return '<invalid>';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function cellValue(column: TableColumnDefinition, value: unknown, now: number): unknown {
  if (column.type === 'date') {
    if (typeof value !== 'string' || !value) return '<unknown>';
    return humanDuration(now - Date.parse(value));
  }
  return value;
}

export function toTable<T extends KubeObject>(
  columns: readonly TableColumnDefinition[],
  row: (object: T) => unknown[],
  items: T[],
  includeObject: IncludeObject,
): Table {
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {},
    columnDefinitions: [...columns],
    rows: items.map((item) => {
      const cells = row(item).map((value, i) => {
        const column = columns[i];
        return column ? cellValue(column, value, now) : value;
      });
      if (includeObject === 'None') return { cells };
      return { cells, object: includeObject === 'Object' ? item : partialObjectMetadata(item) };
    }),
  };
}
