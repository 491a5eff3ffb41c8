import { describe, expect, it } from '@jest/globals';
import { kubeTime } from './time.ts';

describe('kubeTime', () => {
  it('gives second precision in UTC, truncating fractions', () => {
    expect(kubeTime('2026-12-02T15:10:01.999999Z')).toBe('2026-12-02T15:10:01Z');
    expect(kubeTime('2026-12-02T15:10:01Z')).toBe('2026-12-02T15:10:01Z');
  });

  it('converts other offsets to UTC', () => {
    expect(kubeTime('2026-12-02T17:10:01.5+02:00')).toBe('2026-12-02T15:10:01Z');
  });

  it("treats Go's zero time, absence and nonsense as unset", () => {
    expect(kubeTime('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(kubeTime(null)).toBeUndefined();
    expect(kubeTime(undefined)).toBeUndefined();
    expect(kubeTime('yesterday')).toBeUndefined();
  });
});
