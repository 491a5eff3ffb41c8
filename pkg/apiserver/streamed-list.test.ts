import { describe, expect, it } from '@jest/globals';
import { StreamedList } from './streamed-list.ts';

describe('StreamedList', () => {
  it('writes in pieces exactly what JSON.stringify writes', () => {
    const items = Array.from({ length: 3000 }, (_, i) => ({ metadata: { name: `w${i}`, labels: { a: 'é"\\' } }, spec: { n: i, t: i % 2 === 0 } }));
    const list = new StreamedList({ apiVersion: 'v1', kind: 'List', items: 'replaced', metadata: { resourceVersion: '7', continue: 'x' } }, 'items', items);
    const pieces = [...list.chunks()];
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.join('')).toBe(JSON.stringify(list));
    expect(JSON.parse(pieces.join(''))).toEqual({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '7', continue: 'x' }, items });
  });

  it('writes empty and one-item lists, and arrays under other keys (Table rows)', () => {
    for (const items of [[], [{ cells: ['a', 1] }]]) {
      const table = new StreamedList({ kind: 'Table', columnDefinitions: [{ name: 'Name' }] }, 'rows', items);
      expect([...table.chunks()].join('')).toBe(JSON.stringify({ kind: 'Table', columnDefinitions: [{ name: 'Name' }], rows: items }));
      expect(table.length).toBe(items.length);
    }
  });
});
