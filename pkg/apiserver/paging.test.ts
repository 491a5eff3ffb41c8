import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../api/meta/types.ts';
import { compareObjects, paginate, parseLimit } from './paging.ts';

const obj = (namespace: string, name: string): KubeObject => ({ apiVersion: 'v1', kind: 'X', metadata: { namespace, name } });

describe('paging', () => {
  const items = [obj('a', '1'), obj('a', '2'), obj('b', '1'), obj('b', '3'), obj('c', '0')].sort(compareObjects);

  it('walks every item exactly once with continue tokens', () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = paginate(items, 2, token);
      seen.push(...page.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`));
      token = page.continueToken;
      if (token) expect(page.remainingItemCount).toBe(items.length - seen.length);
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual(['a/1', 'a/2', 'b/1', 'b/3', 'c/0']);
  });

  it('resumes after a deleted key', () => {
    const first = paginate(items, 3, undefined);
    const without = items.filter((i) => !(i.metadata.namespace === 'b' && i.metadata.name === '1'));
    expect(paginate(without, 10, first.continueToken).items.map((i) => i.metadata.name)).toEqual(['3', '0']);
  });

  it('rejects garbage tokens and bad limits with 400', () => {
    expect(() => paginate(items, 2, 'not-a-token')).toThrow('invalid continue token');
    expect(() => parseLimit('-1')).toThrow('limit');
    expect(() => parseLimit('abc')).toThrow('limit');
    expect(parseLimit('0')).toBeUndefined();
  });
});
