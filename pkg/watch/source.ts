import { uncancellable } from '../coder/cancellation.ts';
import type { KubeObject } from '../api/meta/types.ts';
import { contentHash, fingerprintOf, type ResourceVersionClock } from './resource-version.ts';
import type { Change } from './types.ts';

interface Entry<T> {
  object: T;
  hash: string;
  /** Position at which this version was observed (its resourceVersion's counter). */
  counter: number;
}

export interface PollReport {
  ok: boolean;
  seconds: number;
  error?: unknown;
}

export interface EventSourceOptions<T> {
  clock: ResourceVersionClock;
  /** Changes kept for watches that resume from a resourceVersion. */
  historySize: number;
  /** Every object, as LIST shows it, read from Coder now. */
  read: () => Promise<T[]>;
  pollIntervalMs: number;
  onPoll?: (report: PollReport) => void;
}

const keyOf = (o: KubeObject): string => `${o.metadata.name ?? ''}/${o.metadata.uid ?? ''}`;

/**
 * What one namespace's Coder holds for one resource, as this process last observed it, and
 * the changes it observed, in order. Every read of Coder (polls, GET, LIST, the results of
 * writes) is applied here, so every object version carries the one resourceVersion this
 * process assigned it. An object is identified by name and Coder ID (a rename or a
 * re-creation is a deletion and an addition) and compared by content.
 *
 * Reads race writes: a read that started before a change this source already applied must
 * not undo it, so every apply carries the position at which its read started.
 */
export class EventSource<T extends KubeObject> {
  /** Position at which this source began observing. */
  readonly createdAt: number;
  readonly #o: EventSourceOptions<T>;
  readonly #entries = new Map<string, Entry<T>>();
  /** Objects deleted through this server → the position of the deletion. */
  readonly #tombstones = new Map<string, number>();
  readonly #history: Change<T>[] = [];
  readonly #listeners = new Set<(change: Change<T>) => void>();
  #windowStart: number;
  #complete = false;
  #readAt = 0;
  #inflight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Bumped whenever polling starts or stops, so a poll in flight does not schedule a stale loop. */
  #pollGeneration = 0;
  #polling = false;

  constructor(options: EventSourceOptions<T>) {
    this.#o = options;
    this.createdAt = options.clock.current;
    this.#windowStart = this.createdAt;
  }

  /** Every change after this position is in the history. */
  get windowStart(): number {
    return this.#windowStart;
  }

  /** Whether a full read has been applied: until then the snapshot holds only what GETs saw. */
  get complete(): boolean {
    return this.#complete;
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  /** A complete snapshot whose read started no more than maxAgeMs ago. */
  fresh(maxAgeMs: number): boolean {
    return this.#complete && Date.now() - this.#readAt <= maxAgeMs;
  }

  snapshot(): T[] {
    return [...this.#entries.values()].map((e) => e.object);
  }

  /** The changes after `counter`, oldest first; the caller checks the window. */
  changesSince(counter: number): Change<T>[] {
    let lo = 0;
    let hi = this.#history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#history[mid]?.counter ?? 0) <= counter) lo = mid + 1;
      else hi = mid;
    }
    return this.#history.slice(lo);
  }

  /** Reads Coder and applies the result. Concurrent callers share one read. */
  refresh(): Promise<void> {
    if (this.#inflight) return this.#inflight;
    const start = this.#o.clock.current;
    const at = Date.now();
    // Shared by every caller, and by polls for every watcher: no one caller may cancel it.
    this.#inflight = uncancellable(() => this.#o.read())
      .then((items) => {
        this.applyList(items, start, at);
      })
      .finally(() => {
        this.#inflight = undefined;
      });
    return this.#inflight;
  }

  /** A full read that started at position `readStart` (wall clock `readAtMs`); returns the snapshot. */
  applyList(items: readonly T[], readStart: number, readAtMs = Date.now()): T[] {
    const listed = new Map(items.map((item) => [keyOf(item), item]));
    // Deletions first: a client keyed by name must see a re-created object's old version
    // go before the new one arrives.
    for (const [key, entry] of this.#entries) {
      if (!listed.has(key) && entry.counter <= readStart) this.#remove(key, entry);
    }
    for (const [key, item] of listed) {
      const entry = this.#entries.get(key);
      if (entry && entry.counter > readStart) continue;
      if ((this.#tombstones.get(key) ?? -1) > readStart) continue;
      this.#put(key, item, entry);
    }
    for (const [key, at] of this.#tombstones) if (at <= readStart) this.#tombstones.delete(key);
    this.#complete = true;
    this.#readAt = Math.max(this.#readAt, readAtMs);
    return this.snapshot();
  }

  /** One object read (or written) at `readStart`; returns the resourceVersion it carries. */
  applyOne(item: T, readStart: number): string {
    const key = keyOf(item);
    const entry = this.#entries.get(key);
    // Something newer was applied while this read was in flight: keep it.
    if (entry && entry.counter > readStart) return entry.object.metadata.resourceVersion ?? '';
    const deletedAt = this.#tombstones.get(key);
    if (deletedAt !== undefined && deletedAt > readStart) {
      return this.#o.clock.format(deletedAt, fingerprintOf(contentHash(item)));
    }
    return this.#put(key, item, entry).metadata.resourceVersion ?? '';
  }

  /** An object this server deleted. */
  applyDeleted(item: T): void {
    const key = keyOf(item);
    const entry = this.#entries.get(key);
    const counter = entry ? this.#remove(key, entry) : this.#o.clock.next();
    this.#tombstones.set(key, counter);
  }

  /** Listens to every change from now on; polling runs while anyone listens. */
  subscribe(listener: (change: Change<T>) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#polling) {
      this.#polling = true;
      this.#schedule(++this.#pollGeneration);
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    this.#polling = false;
    this.#pollGeneration++;
    clearTimeout(this.#timer);
  }

  #schedule(generation: number): void {
    // ±20 % so the sources of many namespaces do not poll their Coders in lockstep.
    const delay = this.#o.pollIntervalMs * (0.8 + Math.random() * 0.4);
    this.#timer = setTimeout(() => void this.#poll(generation), delay);
    this.#timer.unref();
  }

  async #poll(generation: number): Promise<void> {
    const started = performance.now();
    try {
      await this.refresh();
      this.#o.onPoll?.({ ok: true, seconds: (performance.now() - started) / 1000 });
    } catch (error) {
      this.#o.onPoll?.({ ok: false, seconds: (performance.now() - started) / 1000, error });
    }
    if (generation === this.#pollGeneration) this.#schedule(generation);
  }

  #put(key: string, item: T, entry: Entry<T> | undefined): T {
    const hash = contentHash(item);
    if (entry?.hash === hash) return entry.object;
    const counter = this.#o.clock.next();
    const object = { ...item, metadata: { ...item.metadata, resourceVersion: this.#o.clock.format(counter, fingerprintOf(hash)) } };
    this.#entries.set(key, { object, hash, counter });
    this.#tombstones.delete(key);
    this.#emit(entry ? { type: 'MODIFIED', object, previous: entry.object, counter } : { type: 'ADDED', object, counter });
    return object;
  }

  #remove(key: string, entry: Entry<T>): number {
    const counter = this.#o.clock.next();
    this.#entries.delete(key);
    const object = { ...entry.object, metadata: { ...entry.object.metadata, resourceVersion: this.#o.clock.format(counter, fingerprintOf(entry.hash)) } };
    this.#emit({ type: 'DELETED', object, previous: entry.object, counter });
    return counter;
  }

  #emit(change: Change<T>): void {
    this.#history.push(change);
    while (this.#history.length > this.#o.historySize) {
      const dropped = this.#history.shift();
      if (dropped) this.#windowStart = dropped.counter;
    }
    for (const listener of this.#listeners) listener(change);
  }
}
