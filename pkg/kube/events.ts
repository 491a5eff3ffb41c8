import { EventsV1Api, PatchStrategy, setHeaderOptions, type EventsV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../logging/logger.ts';
import { describeKubeError, isNotFound } from './errors.ts';

// Kubernetes Events (events.k8s.io/v1), recorded the way client-go's tools/events
// EventRecorder does: the first occurrence is created, a repeat within the series window
// turns it into a series (count 2, written at once), further repeats only count in memory
// and are written periodically and when the series ends. A per-object token bucket (the
// spam filter of client-go's core recorder) bounds how many distinct events one object
// can produce. Recording never blocks or fails the caller.

export type EventType = 'Normal' | 'Warning';

/** The object an event is about (events.k8s.io/v1 `regarding`). */
export interface EventReference {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

export interface EventSeries {
  count: number;
  /** MicroTime: RFC 3339 with microseconds. */
  lastObservedTime: string;
}

/** Where events are written. */
export interface EventSink {
  create(event: EventsV1Event): Promise<void>;
  /** Sets an event's series; rejects with code 404 when the event is gone (the API server's event TTL). */
  patchSeries(namespace: string, name: string, series: EventSeries): Promise<void>;
}

export function kubeEventSink(kubeConfig: KubeConfig): EventSink {
  const api = kubeConfig.makeApiClient(EventsV1Api);
  return {
    async create(event) {
      await api.createNamespacedEvent({ namespace: event.metadata?.namespace ?? '', body: event });
    },
    async patchSeries(namespace, name, series) {
      await api.patchNamespacedEvent({ name, namespace, body: { series } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    },
  };
}

export interface EventRecorderOptions {
  sink: EventSink;
  /** `reportingController`, e.g. "coder-k8s". */
  reportingController: string;
  /** `reportingInstance`: this replica (at most 128 characters are kept). */
  reportingInstance: string;
  logger: Logger;
  now?: () => number;
  /** A series ends this long after its last occurrence: its final count is written and it is forgotten (client-go: 6 minutes). */
  seriesFinishMs?: number;
  /** How often the counts of running series are written (0: only on flush() and stop()). */
  flushIntervalMs?: number;
  /** Distinct events per object: a burst, then one more per refill period (client-go's spam filter: 25, one per 5 minutes). */
  burst?: number;
  refillMs?: number;
  /** Writes of one event given up after this many failures in a row. */
  maxAttempts?: number;
}

/** Kubernetes' limits on events.k8s.io/v1 fields. */
const NOTE_MAX_BYTES = 1024;
const FIELD_MAX = 128;

interface Entry {
  key: string;
  regarding: EventReference;
  type: EventType;
  reason: string;
  action: string;
  note: string;
  /** The Event object's name; replaced when the event expired and is created again. */
  name: string;
  firstSeen: number;
  lastObserved: number;
  count: number;
  /** The count the API server has (0: not created yet). */
  written: number;
  created: boolean;
  failures: number;
  /** Writes of one entry run one after the other. */
  write: Promise<void>;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class EventRecorder {
  readonly #o: Required<Omit<EventRecorderOptions, 'now'>> & { now: () => number };
  readonly #entries = new Map<string, Entry>();
  readonly #buckets = new Map<string, Bucket>();
  readonly #timer: NodeJS.Timeout | undefined;
  #sequence = 0;
  #dropped = 0;
  #stopped = false;

  constructor(options: EventRecorderOptions) {
    this.#o = {
      now: Date.now,
      seriesFinishMs: 6 * 60_000,
      flushIntervalMs: 60_000,
      burst: 25,
      refillMs: 5 * 60_000,
      maxAttempts: 3,
      ...options,
      reportingInstance: options.reportingInstance.slice(0, FIELD_MAX),
    };
    if (this.#o.flushIntervalMs > 0) {
      this.#timer = setInterval(() => {
        void this.flush();
      }, this.#o.flushIntervalMs);
      this.#timer.unref();
    }
  }

  /** Events the spam filter dropped since start. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Records an event about `regarding`. The same event again (same object, type, reason,
   * action and note) within the series window only counts.
   */
  event(regarding: EventReference, type: EventType, reason: string, action: string, note: string): void {
    if (this.#stopped) return;
    const now = this.#o.now();
    const trimmed = truncateBytes(note, NOTE_MAX_BYTES);
    const key = JSON.stringify([regarding.namespace, regarding.name, regarding.uid ?? '', type, reason, action, trimmed]);
    const entry = this.#entries.get(key);
    if (entry) {
      entry.count++;
      entry.lastObserved = now;
      // Like client-go: the second occurrence makes it a series at once; later ones are counted
      // and written by flush().
      if (entry.count === 2) this.#schedule(entry);
      return;
    }
    if (!this.#take(regarding, now)) {
      this.#dropped++;
      this.#o.logger.debug('event dropped: too many events about this object', { namespace: regarding.namespace, name: regarding.name, reason });
      return;
    }
    const created: Entry = {
      key,
      regarding,
      type,
      reason: reason.slice(0, FIELD_MAX),
      action: action.slice(0, FIELD_MAX),
      note: trimmed,
      name: this.#eventName(regarding.name, now),
      firstSeen: now,
      lastObserved: now,
      count: 1,
      written: 0,
      created: false,
      failures: 0,
      write: Promise.resolve(),
    };
    this.#entries.set(key, created);
    this.#schedule(created);
  }

  /**
   * Writes the counts of running series, ends (writes and forgets) series idle for the
   * series window, and resolves once the writes are done.
   */
  async flush(): Promise<void> {
    const now = this.#o.now();
    const writes: Promise<void>[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.written !== entry.count) this.#schedule(entry);
      if (now - entry.lastObserved >= this.#o.seriesFinishMs) {
        const seen = entry.lastObserved;
        entry.write = entry.write.then(() => {
          // Not if it occurred again meanwhile (that keeps the series running).
          if (entry.lastObserved === seen && this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
        });
      }
      writes.push(entry.write);
    }
    for (const [object, bucket] of this.#buckets) {
      if (this.#refill(bucket, now) >= this.#o.burst) this.#buckets.delete(object);
    }
    await Promise.all(writes);
  }

  /** Stops recording: the counts not written yet are written (within timeoutMs). */
  async stop(timeoutMs = 5000): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.flush(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  #schedule(entry: Entry): void {
    entry.write = entry.write.then(() => this.#sync(entry));
  }

  /** Brings the API server's copy of the event up to the entry's count. */
  async #sync(entry: Entry): Promise<void> {
    const count = entry.count;
    if (count === entry.written) return;
    const series: EventSeries | undefined = count >= 2 ? { count, lastObservedTime: microTime(entry.lastObserved) } : undefined;
    try {
      if (entry.created && series) {
        try {
          await this.#o.sink.patchSeries(entry.regarding.namespace, entry.name, series);
        } catch (err) {
          if (!isNotFound(err)) throw err;
          // Expired (the API server keeps events for an hour by default): create it again.
          entry.created = false;
          entry.name = this.#eventName(entry.regarding.name, this.#o.now());
        }
      }
      if (!entry.created) {
        await this.#o.sink.create(this.#manifest(entry, series));
        entry.created = true;
      }
      entry.written = count;
      entry.failures = 0;
    } catch (err) {
      entry.failures++;
      const giveUp = entry.failures >= this.#o.maxAttempts;
      // Given up: treated as written, so it is not retried until it occurs again.
      if (giveUp) entry.written = count;
      this.#o.logger.warn(giveUp ? 'could not write an event; giving up' : 'could not write an event; retrying later', {
        namespace: entry.regarding.namespace,
        name: entry.regarding.name,
        reason: entry.reason,
        error: describeKubeError(err),
      });
    }
  }

  #manifest(entry: Entry, series: EventSeries | undefined): EventsV1Event {
    const { regarding } = entry;
    return {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: entry.name, namespace: regarding.namespace },
      // The client types MicroTime as a Date; the API wants microseconds, which a string carries as is.
      eventTime: microTime(entry.firstSeen) as unknown as Date,
      ...(series ? { series: { count: series.count, lastObservedTime: series.lastObservedTime as unknown as Date } } : {}),
      reportingController: this.#o.reportingController,
      reportingInstance: this.#o.reportingInstance,
      action: entry.action,
      reason: entry.reason,
      type: entry.type,
      note: entry.note,
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        namespace: regarding.namespace,
        name: regarding.name,
        ...(regarding.uid ? { uid: regarding.uid } : {}),
      },
    };
  }

  /** client-go's name scheme: `<object>.<hex nanoseconds>`, made unique within the process. */
  #eventName(object: string, now: number): string {
    const nanos = BigInt(now) * 1_000_000n + BigInt(this.#sequence++ % 1_000_000);
    return `${object}.${nanos.toString(16)}`;
  }

  #take(regarding: EventReference, now: number): boolean {
    const object = `${regarding.namespace}/${regarding.name}/${regarding.uid ?? ''}`;
    let bucket = this.#buckets.get(object);
    if (!bucket) {
      bucket = { tokens: this.#o.burst, at: now };
      this.#buckets.set(object, bucket);
    }
    this.#refill(bucket, now);
    if (bucket.tokens < 1) return false;
    bucket.tokens--;
    return true;
  }

  #refill(bucket: Bucket, now: number): number {
    const earned = Math.floor((now - bucket.at) / this.#o.refillMs);
    if (earned > 0) {
      bucket.tokens = Math.min(this.#o.burst, bucket.tokens + earned);
      bucket.at += earned * this.#o.refillMs;
    }
    if (bucket.tokens >= this.#o.burst) bucket.at = now;
    return bucket.tokens;
  }
}

/** RFC 3339 with microseconds, as metav1.MicroTime is written. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

function truncateBytes(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = text.slice(0, max);
  while (Buffer.byteLength(out) > max - 3) out = out.slice(0, -1);
  return `${out}...`;
}
