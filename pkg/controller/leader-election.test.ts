import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { createLogger } from '../logging/logger.ts';
import { checkLeaderElectionTiming } from './leader-election-timing.ts';
import { LeaderElector } from './leader-election.ts';
import type { LeaseLock, LeaseRecord, ObservedLease } from './lease-lock.ts';

const logger = createLogger({ level: 'error', format: 'json' });
const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** An in-memory Lease; `hang` makes the next calls of a kind never answer (until aborted). */
class MemoryLock implements LeaseLock {
  readonly description = 'test/lease';
  record: LeaseRecord | undefined;
  version = 0;
  hang = { get: false, update: false };
  /** The signals of the requests left hanging. */
  readonly hung: AbortSignal[] = [];

  async get(signal: AbortSignal): Promise<ObservedLease | undefined> {
    await this.#maybeHang('get', signal);
    return this.record ? { record: { ...this.record }, resourceVersion: String(this.version) } : undefined;
  }

  async create(record: LeaseRecord): Promise<void> {
    await Promise.resolve();
    if (this.record) throw new Error('409 exists');
    this.record = { ...record };
    this.version++;
  }

  async update(record: LeaseRecord, resourceVersion: string, signal: AbortSignal): Promise<void> {
    await this.#maybeHang('update', signal);
    if (resourceVersion !== String(this.version)) throw new Error('409 conflict');
    this.record = { ...record };
    this.version++;
  }

  /** Another replica writes the Lease. */
  write(record: LeaseRecord): void {
    this.record = { ...record };
    this.version++;
  }

  #maybeHang(kind: 'get' | 'update', signal: AbortSignal): Promise<void> {
    if (!this.hang[kind]) return Promise.resolve();
    this.hung.push(signal);
    // Never answers by itself, like a request to an unresponsive API server; the caller's
    // own bound must end it.
    return new Promise(() => undefined);
  }
}

function elector(lock: LeaseLock, events: string[], identity = 'me') {
  return new LeaderElector({
    lock,
    identity,
    logger,
    ...TIMING,
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => {
      events.push('stopped');
      return Promise.resolve();
    },
  });
}

const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);

/** An elector that created the Lease and leads. */
async function leader() {
  const lock = new MemoryLock();
  const events: string[] = [];
  const e = elector(lock, events);
  e.start();
  await advance(0);
  expect(events).toEqual(['started']);
  return { lock, events, e };
}

describe('LeaderElector', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-06-01T00:00:00Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('creates a missing Lease and leads', async () => {
    const { lock, e } = await leader();
    expect(lock.record).toMatchObject({ holderIdentity: 'me', leaseDurationSeconds: 15, leaseTransitions: 0 });
    await e.stop();
  });

  it("judges expiry from when it saw the record change, not from the holder's clock", async () => {
    // The holder's clock is decades behind ours: its renewTime looks long expired.
    const lock = new MemoryLock();
    lock.write({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: '2000-01-01T00:00:00.000000Z', leaseTransitions: 3 });
    const events: string[] = [];
    const e = elector(lock, events);
    e.start();
    await advance(14_000);
    expect(events).toEqual([]);
    await advance(1_000 + 2 * 2_400);
    expect(events).toEqual(['started']);
    expect(lock.record).toMatchObject({ holderIdentity: 'me', leaseTransitions: 4 });
    await e.stop();
  });

  it("takes over from a holder whose clock is ahead once the record stops changing", async () => {
    const lock = new MemoryLock();
    lock.write({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: '2100-01-01T00:00:00.000000Z' });
    const events: string[] = [];
    const e = elector(lock, events);
    e.start();
    await advance(15_000 + 2 * 2_400);
    expect(events).toEqual(['started']);
    await e.stop();
  });

  it('never takes a Lease whose holder keeps renewing, whatever its clock says', async () => {
    const lock = new MemoryLock();
    const events: string[] = [];
    const e = elector(lock, events);
    for (let i = 0; i < 30; i++) {
      lock.write({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: `2000-01-01T00:00:${String(i).padStart(2, '0')}.000000Z` });
      if (i === 0) e.start();
      await advance(2_000);
    }
    expect(events).toEqual([]);
    await e.stop();
  });

  it('stops leading within the renew deadline when a renewal hangs, and aborts that request', async () => {
    const { lock, events, e } = await leader();
    lock.hang.update = true;
    await advance(2_000 + 10_000);
    expect(events).toEqual(['started', 'stopped']);
    // The renewal left hanging was abandoned, not merely outlived.
    expect(lock.hung[0]?.aborted).toBe(true);
    // Releasing on stop is bounded by the renew deadline too.
    const stopping = e.stop();
    await advance(10_000);
    await stopping;
  });

  it('stops at once when another replica holds the Lease, and leads again once that one is gone', async () => {
    const { lock, events, e } = await leader();
    lock.write({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: '2026-06-01T00:00:01.000000Z', leaseTransitions: 1 });
    await advance(2_000);
    expect(events).toEqual(['started', 'stopped']);
    // The other replica never renews: after a lease duration of silence this one campaigns back.
    await advance(15_000 + 2 * 2_400);
    expect(events).toEqual(['started', 'stopped', 'started']);
    expect(lock.record).toMatchObject({ holderIdentity: 'me', leaseTransitions: 2 });
    await e.stop();
  });

  it('bounds every request while acquiring: a hanging read is abandoned and retried', async () => {
    const lock = new MemoryLock();
    lock.hang.get = true;
    const events: string[] = [];
    const e = elector(lock, events);
    e.start();
    await advance(10_000);
    expect(lock.hung[0]?.aborted).toBe(true);
    lock.hang.get = false;
    await advance(2_400);
    expect(events).toEqual(['started']);
    await e.stop();
  });

  it('stops the reconcilers before it releases the Lease on stop', async () => {
    const lock = new MemoryLock();
    let holderWhenStopped: string | undefined;
    const e = new LeaderElector({
      lock,
      identity: 'me',
      logger,
      ...TIMING,
      onStartedLeading: () => undefined,
      onStoppedLeading: () => {
        holderWhenStopped = lock.record?.holderIdentity;
        return Promise.resolve();
      },
    });
    e.start();
    await advance(0);
    await e.stop();
    expect(holderWhenStopped).toBe('me');
    expect(lock.record?.holderIdentity).toBeUndefined();
    expect(lock.record).toMatchObject({ leaseDurationSeconds: 1, leaseTransitions: 0 });
    // A standby takes over at once: a Lease without a holder is free.
    const events: string[] = [];
    const standby = elector(lock, events, 'standby');
    standby.start();
    await advance(0);
    expect(events).toEqual(['started']);
    await standby.stop();
  });

  it('leaves a Lease that another replica holds alone on stop', async () => {
    const lock = new MemoryLock();
    lock.write({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: '2026-06-01T00:00:00.000000Z' });
    const e = elector(lock, []);
    e.start();
    await advance(0);
    await e.stop();
    expect(lock.record?.holderIdentity).toBe('other');
  });
});

describe('checkLeaderElectionTiming', () => {
  it('accepts the defaults and names the flag to fix', () => {
    expect(checkLeaderElectionTiming(TIMING)).toBeUndefined();
    expect(checkLeaderElectionTiming({ ...TIMING, leaseDurationMs: 10_000 })).toMatch(/--leader-elect-lease-duration must be greater/);
    expect(checkLeaderElectionTiming({ ...TIMING, renewDeadlineMs: 2_400 })).toMatch(/--leader-elect-renew-deadline must be greater than 1.2/);
  });
});
