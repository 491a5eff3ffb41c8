import { describe, expect, it } from '@jest/globals';
import { cancelWith, cancellation } from '../coder/cancellation.ts';
import { ReadCoalescer } from './coalesce.ts';

/** A read that answers when told to, numbering its calls. */
function reads() {
  let calls = 0;
  const pending: ((v: number) => void)[] = [];
  const failing: ((e: Error) => void)[] = [];
  return {
    get calls() {
      return calls;
    },
    read: () =>
      new Promise<number>((resolve, reject) => {
        calls++;
        const n = calls;
        pending.push(() => {
          resolve(n);
        });
        failing.push(reject);
      }),
    finish: () => pending.shift()?.(0),
    fail: (e: Error) => {
      pending.shift();
      failing.shift()?.(e);
    },
  };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('ReadCoalescer', () => {
  it('gives callers that arrive during a read the next read, shared, never the one in flight', async () => {
    const c = new ReadCoalescer<string, number>();
    const r = reads();
    const first = c.run('ns', r.read);
    const joiners = Array.from({ length: 5 }, () => c.run('ns', r.read));
    expect(r.calls).toBe(1);
    r.finish();
    expect(await first).toBe(1);
    await settle();
    expect(r.calls).toBe(2);
    r.finish();
    expect(await Promise.all(joiners)).toEqual([2, 2, 2, 2, 2]);
  });

  it('keeps keys apart', async () => {
    const c = new ReadCoalescer<string, number>();
    const r = reads();
    const a = c.run('a', r.read);
    const b = c.run('b', r.read);
    expect(r.calls).toBe(2);
    r.finish();
    r.finish();
    expect(await Promise.all([a, b])).toEqual([1, 2]);
  });

  it('passes a failure to its callers and starts afresh after it', async () => {
    const c = new ReadCoalescer<string, number>();
    const r = reads();
    const failed = c.run('ns', r.read);
    r.fail(new Error('Coder is down'));
    await expect(failed).rejects.toThrow('Coder is down');
    const again = c.run('ns', r.read);
    expect(r.calls).toBe(2);
    r.finish();
    expect(await again).toBe(2);
  });
});

/** A read that records the cancellation it runs under and answers when told to. */
function controlledRead() {
  const state: { signal?: AbortSignal | undefined; answer: (v: number) => void } = { answer: () => undefined };
  const read = () =>
    new Promise<number>((resolve) => {
      state.signal = cancellation();
      state.answer = resolve;
    });
  return { read, state };
}

describe('ReadCoalescer and callers that go away', () => {
  it('ends a caller with 504 when its request ends, and aborts the shared read only when the last caller has gone', async () => {
    const c = new ReadCoalescer<string, number>();
    const { read, state } = controlledRead();
    const one = new AbortController();
    const two = new AbortController();
    const first = cancelWith(one.signal, () => c.run('ns', read)).catch((e: unknown) => e);
    // Joins the read that starts after the first: started by the queue once the first ends.
    const second = cancelWith(two.signal, () => c.run('ns', read)).catch((e: unknown) => e);
    one.abort();
    expect(await first).toMatchObject({ code: 504, reason: 'Timeout' });
    expect(state.signal?.aborted).toBe(true);
    state.answer(1);
    await settle();
    await settle();
    // The queued read began for the second caller, who is still waiting.
    expect(state.signal?.aborted).toBe(false);
    two.abort();
    expect(await second).toMatchObject({ code: 504 });
    expect(state.signal?.aborted).toBe(true);
  });

  it('keeps a shared read alive while a caller that cannot go away shares it', async () => {
    const c = new ReadCoalescer<string, number>();
    const { read, state } = controlledRead();
    const first = c.run('ns', read);
    // Both join the next read: one outside any request scope (it cannot go away), one inside.
    const pinned = c.run('ns', read);
    const gone = new AbortController();
    const leaving = cancelWith(gone.signal, () => c.run('ns', read)).catch((e: unknown) => e);
    state.answer(1);
    expect(await first).toBe(1);
    await settle();
    await settle();
    gone.abort();
    expect(await leaving).toMatchObject({ code: 504 });
    expect(state.signal?.aborted).toBe(false);
    state.answer(2);
    expect(await pinned).toBe(2);
  });
});
