import { describe, expect, it } from '@jest/globals';
import { negotiate } from './negotiation.ts';
import { humanDuration } from './table.ts';

describe('content negotiation', () => {
  it('serves a Table when kubectl asks for one first', () => {
    const kubectl = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
    expect(negotiate(kubectl, true)).toEqual({ table: true });
    expect(negotiate(kubectl, false)).toEqual({ table: false });
  });

  it('falls back to JSON after protobuf', () => {
    expect(negotiate('application/vnd.kubernetes.protobuf, application/json', true)).toEqual({ table: false });
    expect(negotiate(undefined, true)).toEqual({ table: false });
    expect(negotiate('*/*', true)).toEqual({ table: false });
  });

  it('answers 406 when nothing acceptable is offered', () => {
    expect(() => negotiate('application/vnd.kubernetes.protobuf', true)).toThrow('only the following media types');
    expect(() => negotiate('application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io', true)).toThrow();
  });
});

describe('humanDuration (kubectl ages)', () => {
  it.each([
    [5_000, '5s'],
    [119_000, '119s'],
    [150_000, '2m30s'],
    [15 * 60_000, '15m'],
    [5 * 3600_000 + 30 * 60_000, '5h30m'],
    [30 * 3600_000, '30h'],
    [3 * 86400_000, '3d'],
    [3 * 86400_000 + 4 * 3600_000, '3d4h'],
    [400 * 86400_000, '400d'],
    [-1000, '<invalid>'],
  ])('%d ms → %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});
