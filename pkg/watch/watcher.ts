import { expired } from '../api/meta/status-error.ts';
import type { KubeObject } from '../api/meta/types.ts';
import type { Change, WatchEvent, WatchSink } from './types.ts';

export interface WatcherOptions<T> {
  /** Live changes a watcher may hold unsent before its backlog must keep shrinking. */
  bufferSize: number;
  /** How long a backlog above bufferSize may go without shrinking before the watcher is closed. */
  graceMs: number;
  /** The client's label and field selectors. */
  matches: (object: T) => boolean;
  /** Periodic BOOKMARKs (allowWatchBookmarks), each at the position the watcher has reached. */
  bookmarks?: { intervalMs: number; resourceVersion: () => string };
  timeoutMs: number;
  /** Changes this watcher will never send because it was too slow. */
  onDropped: (count: number) => void;
  /** Called once, however the watch ends. */
  onClose: () => void;
}

interface Queued<T> {
  event: WatchEvent<T>;
  /** Live changes count against the buffer; the initial state and bookmarks do not. */
  bounded: boolean;
}

/**
 * One client's watch: filters changes through its selectors (an object that stops
 * matching is DELETED for it, one that starts matching ADDED, as in kube-apiserver),
 * queues what the transport cannot take yet, and closes with a 410 ERROR event when its
 * backlog is over the buffer size and stops shrinking, so the client lists again instead of
 * silently missing changes.
 */
export class Watcher<T extends KubeObject> {
  readonly #sink: WatchSink<T>;
  readonly #o: WatcherOptions<T>;
  readonly #queue: Queued<T>[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #bounded = 0;
  #blocked = false;
  #closed = false;
  #overflowCheck: NodeJS.Timeout | undefined;
  /** The largest backlog since the overflow check was armed. */
  #peak = 0;

  constructor(sink: WatchSink<T>, options: WatcherOptions<T>) {
    this.#sink = sink;
    this.#o = options;
    sink.onDrain(() => {
      this.#blocked = false;
      this.#flush();
    });
    sink.onClose(() => {
      this.close();
    });
    const timeout = setTimeout(() => {
      this.close();
    }, options.timeoutMs);
    timeout.unref();
    this.#timers.push(timeout);
    const bookmarks = options.bookmarks;
    if (bookmarks) {
      const interval = setInterval(() => {
        this.bookmark(bookmarks.resourceVersion(), false);
      }, bookmarks.intervalMs);
      interval.unref();
      this.#timers.push(interval);
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A change from a source this watcher follows. */
  change(change: Change<T>): void {
    const now = change.type !== 'DELETED' && this.#o.matches(change.object);
    const before = change.previous !== undefined && this.#o.matches(change.previous);
    if (change.type === 'DELETED') {
      if (before) this.#enqueue({ type: 'DELETED', object: change.object }, true);
      return;
    }
    if (now) this.#enqueue({ type: before ? 'MODIFIED' : 'ADDED', object: change.object }, true);
    else if (before) {
      // Left the selection: the client last saw the previous state, now at this version.
      const object = { ...change.previous, metadata: { ...change.previous?.metadata, resourceVersion: change.object.metadata.resourceVersion } } as T;
      this.#enqueue({ type: 'DELETED', object }, true);
    }
  }

  /** Current state: the initial events, or a namespace that joined. */
  added(objects: readonly T[]): void {
    for (const object of objects) if (this.#o.matches(object)) this.#enqueue({ type: 'ADDED', object }, false);
  }

  /** A namespace that is no longer served: its objects leave the watch. */
  removed(objects: readonly T[], resourceVersion: string): void {
    for (const object of objects) {
      if (this.#o.matches(object)) this.#enqueue({ type: 'DELETED', object: { ...object, metadata: { ...object.metadata, resourceVersion } } }, true);
    }
  }

  bookmark(resourceVersion: string, initialEventsEnd: boolean): void {
    this.#enqueue({ type: 'BOOKMARK', resourceVersion, initialEventsEnd }, false);
  }

  /** Ends the watch cleanly (timeout, shutdown, the namespace stopped being served, client gone). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    clearTimeout(this.#overflowCheck);
    this.#queue.length = 0;
    this.#sink.end();
    this.#o.onClose();
  }

  #enqueue(event: WatchEvent<T>, bounded: boolean): void {
    if (this.#closed) return;
    this.#queue.push({ event, bounded });
    if (bounded) this.#bounded++;
    this.#peak = Math.max(this.#peak, this.#bounded);
    this.#flush();
    if (this.#bounded > this.#o.bufferSize && !this.#overflowCheck) this.#armOverflowCheck();
  }

  /**
   * A burst (one poll can change every object) is not a slow client: a backlog over the
   * buffer size is tolerated while it shrinks; one that has not shrunk after graceMs means
   * the client cannot keep up.
   */
  #armOverflowCheck(): void {
    this.#peak = this.#bounded;
    this.#overflowCheck = setTimeout(() => {
      this.#overflowCheck = undefined;
      if (this.#bounded <= this.#o.bufferSize) return;
      if (this.#bounded < this.#peak) this.#armOverflowCheck();
      else this.#overflow();
    }, this.#o.graceMs);
    this.#overflowCheck.unref();
  }

  #flush(): void {
    while (!this.#blocked && !this.#closed) {
      const next = this.#queue.shift();
      if (!next) return;
      if (next.bounded) this.#bounded--;
      if (!this.#sink.write(next.event)) this.#blocked = true;
    }
  }

  #overflow(): void {
    const missed = this.#queue.filter((q) => q.event.type !== 'BOOKMARK').length;
    this.#o.onDropped(missed);
    this.#queue.length = 0;
    this.#sink.write({
      type: 'ERROR',
      status: expired(`the watch was more than ${this.#o.bufferSize} changes behind and did not catch up for ${this.#o.graceMs}ms; list again`).status,
    });
    this.close();
  }
}
