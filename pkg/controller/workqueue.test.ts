import { describe, expect, it } from '@jest/globals';
import { RateLimitingQueue } from './workqueue.ts';

describe('RateLimitingQueue', () => {
  it('deduplicates keys that are waiting', async () => {
    const q = new RateLimitingQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands one key to two workers; re-adds while processing run once more after done', async () => {
    const q = new RateLimitingQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    expect(q.length).toBe(0);
    let second: string | undefined;
    const pending = q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(key ?? '');
    await pending;
    expect(second).toBe('a');
  });

  it('backs off per key exponentially and forgets on success', () => {
    const q = new RateLimitingQueue({ baseDelayMs: 10, maxDelayMs: 1000, burst: 1000 });
    expect([q.when('k'), q.when('k'), q.when('k'), q.when('k')]).toEqual([10, 20, 40, 80]);
    for (let i = 0; i < 10; i++) q.when('k');
    expect(q.when('k')).toBe(1000);
    expect(q.numRequeues('k')).toBe(15);
    q.forget('k');
    expect(q.when('k')).toBe(10);
  });

  it('limits the overall retry rate with a token bucket', () => {
    const q = new RateLimitingQueue({ baseDelayMs: 1, qps: 10, burst: 2 });
    expect(q.when('a')).toBe(1);
    expect(q.when('b')).toBe(1);
    expect(q.when('c')).toBeGreaterThanOrEqual(90);
  });

  it('delays addAfter and wakes waiting workers on shutdown', async () => {
    const q = new RateLimitingQueue();
    q.addAfter('later', 20);
    expect(q.length).toBe(0);
    expect(await q.get()).toBe('later');
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('x');
    expect(q.length).toBe(0);
  });
});
