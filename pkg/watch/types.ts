import type { Status } from '../api/meta/types.ts';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change a source observed, at the position its object's resourceVersion names. */
export interface Change<T> {
  type: ChangeType;
  /** The object as LIST shows it, resourceVersion set. DELETED carries the last state seen. */
  object: T;
  /** The state before the change (MODIFIED, DELETED), for selectors that stop matching. */
  previous?: T;
  counter: number;
}

/** What a watcher sends its client, in order. */
export type WatchEvent<T> =
  | { type: ChangeType; object: T }
  | { type: 'BOOKMARK'; resourceVersion: string; initialEventsEnd: boolean }
  | { type: 'ERROR'; status: Status };

/** The transport a watcher writes to (an HTTP response in the server). */
export interface WatchSink<T> {
  /** false when the transport's buffer is full: stop until onDrain. */
  write(event: WatchEvent<T>): boolean;
  onDrain(listener: () => void): void;
  /** Called once when the client goes away. */
  onClose(listener: () => void): void;
  end(): void;
}
