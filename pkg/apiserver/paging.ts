import { StatusError, badRequest } from '../api/meta/status-error.ts';
import type { KubeObject } from '../api/meta/types.ts';

interface ContinueKey {
  v: 1;
  namespace: string;
  name: string;
}

export function encodeContinue(namespace: string, name: string): string {
  return Buffer.from(JSON.stringify({ v: 1, namespace, name } satisfies ContinueKey)).toString('base64url');
}

function decodeContinue(token: string): ContinueKey {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<ContinueKey>;
    if (parsed.v === 1 && typeof parsed.namespace === 'string' && typeof parsed.name === 'string') {
      return parsed as ContinueKey;
    }
  } catch {
    // fall through to the Status below
  }
  throw new StatusError(400, 'BadRequest', `continue: invalid continue token "${token}"`);
}

export function parseLimit(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`limit: must be a non-negative integer, got "${value}"`);
  return n === 0 ? undefined : n;
}

export function compareObjects(a: KubeObject, b: KubeObject): number {
  const ns = (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '');
  return ns !== 0 ? ns : (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}

export interface Page<T> {
  items: T[];
  continueToken?: string;
  remainingItemCount?: number;
}

/**
 * Cuts one page out of a list sorted by (namespace, name). The continue token is the last
 * key returned, so the next page starts after it even when objects come and go meanwhile.
 */
export function paginate<T extends KubeObject>(sorted: T[], limit: number | undefined, continueToken: string | undefined): Page<T> {
  let start = 0;
  if (continueToken) {
    const key = decodeContinue(continueToken);
    const probe = { metadata: { namespace: key.namespace, name: key.name } } as KubeObject;
    start = sorted.findIndex((item) => compareObjects(item, probe) > 0);
    if (start < 0) start = sorted.length;
  }
  if (limit === undefined || start + limit >= sorted.length) return { items: sorted.slice(start) };
  const items = sorted.slice(start, start + limit);
  const last = items[items.length - 1];
  return {
    items,
    continueToken: encodeContinue(last?.metadata.namespace ?? '', last?.metadata.name ?? ''),
    remainingItemCount: sorted.length - start - limit,
  };
}
