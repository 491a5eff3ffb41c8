import { describe, expect, it } from '@jest/globals';
import { negotiate } from './negotiation.ts';
import { humanDuration } from './table.ts';

describe('content negotiation', () => {
  it('serves a Table when kubectl asks for one first', () => {
    const kubectl = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
    expect(negotiate(kubectl, { table: true })).toBe('table');
    expect(negotiate(kubectl)).toBe('object');
  });

  it('serves metadata only to metadata clients (kube-controller-manager), in the kind the request lists or reads', () => {
    const list = 'application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
    expect(negotiate(list, { table: true, metadata: 'PartialObjectMetadataList' })).toBe('metadata');
    expect(negotiate(list, { table: true, metadata: 'PartialObjectMetadata' })).toBe('object');
    expect(() => negotiate('application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1', { metadata: 'PartialObjectMetadataList' })).toThrow(
      'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io',
    );
  });

  it('falls back to JSON after protobuf', () => {
    expect(negotiate('application/vnd.kubernetes.protobuf, application/json', { table: true })).toBe('object');
    expect(negotiate(undefined, { table: true })).toBe('object');
    expect(negotiate('*/*', { table: true })).toBe('object');
  });

  it('answers 406 when nothing acceptable is offered', () => {
    expect(() => negotiate('application/vnd.kubernetes.protobuf', { table: true })).toThrow('only the following media types');
    expect(() => negotiate('application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io', { table: true })).toThrow();
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
