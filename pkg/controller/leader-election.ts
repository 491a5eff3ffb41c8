import { describeKubeError } from '../kube/errors.ts';
import type { Logger } from '../logging/logger.ts';
import { JITTER, type LeaderElectionTiming } from './leader-election-timing.ts';
import type { LeaseLock, LeaseRecord } from './lease-lock.ts';

export interface LeaderElectionOptions extends LeaderElectionTiming {
  lock: LeaseLock;
  identity: string;
  logger: Logger;
  /** Called when this replica starts leading. */
  onStartedLeading: () => void;
  /** Called when leading ends (lost or stopping); campaigning resumes only once it resolves. */
  onStoppedLeading: () => Promise<void>;
}

/** MicroTime: RFC 3339 with exactly six fractional digits, as kube-apiserver parses it. */
function micro(date: Date): string {
  return date.toISOString().replace('Z', '000Z');
}

function sameRecord(a: LeaseRecord | undefined, b: LeaseRecord): boolean {
  return (
    a !== undefined &&
    a.holderIdentity === b.holderIdentity &&
    a.renewTime === b.renewTime &&
    a.acquireTime === b.acquireTime &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.leaseTransitions === b.leaseTransitions
  );
}

/** Rejects when the signal aborts, even if the operation itself ignores it. */
function bounded<T>(operation: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    operation.then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', onAbort);
    });
  });
}

// Timers are the global ones (not AbortSignal.timeout or timers/promises), so tests can
// drive every deadline with fake timers.
function timeoutSignal(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => {
    controller.abort(new Error(`lease request timed out after ${ms}ms`));
  }, ms).unref();
  return controller.signal;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Read through a call: TypeScript would otherwise treat the flag as fixed across awaits. */
function aborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/**
 * Lease-based leader election with client-go's semantics:
 * - a held lease is judged expired by when THIS replica last saw its record change, plus the
 *   record's lease duration (the holder's clock is never compared with ours);
 * - every Lease request is bounded: by the renew deadline while leading, so a hanging request
 *   cannot keep a replica leading past it; leadership ends when no renewal succeeded within the
 *   renew deadline, or at once when another holder is seen;
 * - stop() ends leading (the callback stops the reconcilers) and then releases the Lease so the
 *   next replica takes over without waiting for expiry.
 * After losing the lease the elector campaigns again once onStoppedLeading has resolved.
 */
export class LeaderElector {
  readonly #o: LeaderElectionOptions;
  readonly #stop = new AbortController();
  #observed: LeaseRecord | undefined;
  #observedAt = 0;
  #leading = false;
  #loop: Promise<void> | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#o = options;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    if (this.#leading) {
      this.#leading = false;
      this.#o.logger.info('stopped leading', { identity: this.#o.identity, lease: this.#o.lock.description, reason: 'stopping' });
      await this.#o.onStoppedLeading();
    }
    // Also when not leading: a write cut off by stop() may still have made this replica the holder.
    await this.#release();
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      if (!(await this.#acquire())) return;
      this.#leading = true;
      this.#o.logger.info('became leader', { identity: this.#o.identity, lease: this.#o.lock.description });
      this.#o.onStartedLeading();
      const lost = await this.#renew();
      if (!lost) return;
      this.#leading = false;
      this.#o.logger.error('lost the leader lease; reconcilers stop, and this replica campaigns again', {
        identity: this.#o.identity,
        lease: this.#o.lock.description,
        reason: lost,
      });
      await this.#o.onStoppedLeading();
    }
  }

  /** Tries every retry period (jittered) until the lease is ours; false when stopped first. */
  async #acquire(): Promise<boolean> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      try {
        if ((await this.#tryAcquireOrRenew(AbortSignal.any([stop, timeoutSignal(this.#o.renewDeadlineMs)]))) === 'held') return true;
      } catch (err) {
        if (!aborted(stop)) this.#o.logger.warn('could not acquire the leader lease', { lease: this.#o.lock.description, error: describeKubeError(err) });
      }
      await pause(this.#o.retryPeriodMs * (1 + Math.random() * (JITTER - 1)), stop);
    }
    return false;
  }

  /** Renews every retry period; resolves with why leadership was lost, or undefined when stopped. */
  async #renew(): Promise<string | undefined> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      // One renew round: retried until it succeeds or the deadline passes; the deadline also
      // aborts a request in flight.
      const deadline = timeoutSignal(this.#o.renewDeadlineMs);
      const round = AbortSignal.any([stop, deadline]);
      let renewed = false;
      while (!renewed && !aborted(round)) {
        try {
          const outcome = await this.#tryAcquireOrRenew(round);
          if (outcome === 'taken') return `the lease is held by ${this.#observed?.holderIdentity ?? 'another replica'}`;
          renewed = true;
        } catch (err) {
          if (aborted(round)) break;
          this.#o.logger.warn('could not renew the leader lease', { lease: this.#o.lock.description, error: describeKubeError(err) });
          await pause(this.#o.retryPeriodMs, round);
        }
      }
      if (aborted(stop)) return undefined;
      if (!renewed) return `no renewal succeeded within the renew deadline (${this.#o.renewDeadlineMs}ms)`;
      await pause(this.#o.retryPeriodMs, stop);
    }
    return undefined;
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<'held' | 'taken'> {
    const { lock, identity } = this.#o;
    const now = new Date();
    const mine = (previous?: LeaseRecord): LeaseRecord => {
      const wasMine = previous?.holderIdentity === identity;
      return {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
        acquireTime: wasMine && previous.acquireTime ? previous.acquireTime : micro(now),
        renewTime: micro(now),
        leaseTransitions: (previous?.leaseTransitions ?? 0) + (wasMine || !previous ? 0 : 1),
      };
    };
    const current = await bounded(lock.get(signal), signal);
    if (!current) {
      const record = mine();
      await bounded(lock.create(record, signal), signal);
      this.#observe(record);
      return 'held';
    }
    if (!sameRecord(this.#observed, current.record)) this.#observe(current.record);
    const holder = current.record.holderIdentity;
    const validFor = (current.record.leaseDurationSeconds ?? 0) * 1000;
    if (holder && holder !== identity && this.#observedAt + validFor > performance.now()) return 'taken';
    const record = mine(current.record);
    await bounded(lock.update(record, current.resourceVersion, signal), signal);
    this.#observe(record);
    return 'held';
  }

  #observe(record: LeaseRecord): void {
    this.#observed = record;
    // Monotonic: expiry is measured on this replica's clock, from when it saw the change.
    this.#observedAt = performance.now();
  }

  /** client-go's release: no holder, a 1 s duration, transitions kept. */
  async #release(): Promise<void> {
    const { lock, identity, logger } = this.#o;
    const signal = timeoutSignal(this.#o.renewDeadlineMs);
    try {
      const current = await bounded(lock.get(signal), signal);
      if (current?.record.holderIdentity !== identity) return;
      const now = micro(new Date());
      const record: LeaseRecord = { leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: current.record.leaseTransitions ?? 0 };
      await bounded(lock.update(record, current.resourceVersion, signal), signal);
      logger.info('released leader lease', { lease: lock.description });
    } catch (err) {
      logger.warn('could not release leader lease', { lease: lock.description, error: describeKubeError(err) });
    }
  }
}
