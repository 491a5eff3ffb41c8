import { describe, expect, it } from '@jest/globals';
import { ResourceVersionClock, contentHash, fingerprintOf, preconditionHolds } from './resource-version.ts';

describe('resourceVersion clock', () => {
  it('round-trips counter, tag and fingerprint through an opaque decimal string', () => {
    const clock = new ResourceVersionClock(1_764_000_000_000, 0xabcde);
    const counter = clock.next();
    const rv = clock.format(counter, 0xdeadbeef);
    expect(rv).toMatch(/^[1-9][0-9]+$/);
    expect(ResourceVersionClock.parse(rv)).toEqual({ counter, tag: 0xabcde, fingerprint: 0xdeadbeef });
    expect(clock.issued({ counter, tag: 0xabcde, fingerprint: 1 })).toBe(true);
  });

  it('increases across restarts: a later process starts above everything an earlier one issued', () => {
    const earlier = new ResourceVersionClock(1_764_000_000_000);
    for (let i = 0; i < 10_000; i++) earlier.next();
    const later = new ResourceVersionClock(1_764_000_000_000 + 1000);
    expect(later.current).toBeGreaterThan(earlier.current);
    expect(BigInt(later.formatCurrent())).toBeGreaterThan(BigInt(earlier.formatCurrent()));
  });

  it('two replicas started in the same millisecond recognise each other\'s versions as foreign', () => {
    const now = Date.now();
    const a = new ResourceVersionClock(now);
    const b = new ResourceVersionClock(now);
    expect(a.current).toBe(b.current);
    const fromA = ResourceVersionClock.parse(a.format(a.next()));
    const fromB = ResourceVersionClock.parse(b.format(b.next()));
    if (!fromA || !fromB) throw new Error('unparsable');
    expect(a.issued(fromA)).toBe(true);
    expect(b.issued(fromB)).toBe(true);
    expect(a.issued(fromB)).toBe(false);
    expect(b.issued(fromA)).toBe(false);
  });

  it('rejects what it cannot have issued: non-canonical, future and pre-start positions', () => {
    const clock = new ResourceVersionClock(1_764_000_000_000, 7);
    expect(ResourceVersionClock.parse('')).toBeUndefined();
    expect(ResourceVersionClock.parse('012')).toBeUndefined();
    expect(ResourceVersionClock.parse('-5')).toBeUndefined();
    expect(ResourceVersionClock.parse('12a')).toBeUndefined();
    expect(ResourceVersionClock.parse('1'.repeat(45))).toBeUndefined();
    const future = ResourceVersionClock.parse(clock.format(clock.current + 10));
    const before = ResourceVersionClock.parse(clock.format(clock.current - 10));
    if (!future || !before) throw new Error('unparsable');
    expect(clock.issued(future)).toBe(false);
    expect(clock.issued(before)).toBe(false);
  });
});

describe('resourceVersion preconditions', () => {
  const object = { metadata: { name: 'a', resourceVersion: '' }, spec: { x: 1 } };
  const a = new ResourceVersionClock(1_764_000_000_000, 1);
  const b = new ResourceVersionClock(1_764_000_000_000, 2);
  const fp = fingerprintOf(contentHash(object));
  const current = { ...object, metadata: { ...object.metadata, resourceVersion: a.format(a.next(), fp) } };

  it('holds for the same version, and for another replica\'s version of the same content', () => {
    expect(preconditionHolds(current.metadata.resourceVersion, current)).toBe(true);
    expect(preconditionHolds(b.format(b.next(), fp), current)).toBe(true);
  });

  it('fails for another content, a list version and garbage', () => {
    expect(preconditionHolds(b.format(b.next(), fp ^ 1), current)).toBe(false);
    expect(preconditionHolds(a.formatCurrent(), current)).toBe(false);
    expect(preconditionHolds('12345', current)).toBe(false);
    expect(preconditionHolds('abc', current)).toBe(false);
  });

  it('hashes content regardless of key order and resourceVersion', () => {
    const one = { metadata: { resourceVersion: '1' }, spec: { a: 1, b: 2 } };
    const two = { spec: { b: 2, a: 1 }, metadata: { resourceVersion: '2' } };
    expect(contentHash(one)).toBe(contentHash(two));
  });
});
