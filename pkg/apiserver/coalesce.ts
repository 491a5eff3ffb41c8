import { timeout } from '../api/meta/status-error.ts';
import { cancellation, cancelWith, uncancellable } from '../coder/cancellation.ts';

const ignore = () => undefined;

interface SharedRead<V> {
  promise: Promise<V>;
  /** Aborts the read's Coder requests once every caller has gone. */
  controller: AbortController;
  /** Callers still waiting that can go away (those in a cancellation scope). */
  waiting: number;
  /** A caller that cannot go away joined: the read runs to its end. */
  pinned: boolean;
}

/**
 * Concurrent identical reads share one Coder read, never one that began before the caller
 * arrived (a LIST must see every write completed before it was asked): while a read is in
 * flight, the callers arriving meanwhile share the one read that starts when it ends. Under
 * load, N concurrent LISTs of a namespace cost two Coder reads instead of N.
 *
 * Each caller still ends when its own request does (a hang-up, its ?timeout=); the shared
 * read's Coder requests are aborted only once every caller has gone.
 */
export class ReadCoalescer<K, V> {
  readonly #inflight = new Map<K, SharedRead<V>>();
  readonly #next = new Map<K, SharedRead<V>>();

  run(key: K, read: () => Promise<V>): Promise<V> {
    return this.#join(key, this.#next.get(key) ?? this.#schedule(key, read));
  }

  /** A read that begins now, or when the one in flight ends (the callers arriving meanwhile share it). */
  #schedule(key: K, read: () => Promise<V>): SharedRead<V> {
    const current = this.#inflight.get(key);
    const controller = new AbortController();
    const begin = (): Promise<V> =>
      uncancellable(() => cancelWith(controller.signal, read)).finally(() => {
        if (this.#inflight.get(key) === shared) this.#inflight.delete(key);
      });
    const shared: SharedRead<V> = {
      controller,
      waiting: 0,
      pinned: false,
      promise: current
        ? current.promise.then(ignore, ignore).then(() => {
            if (this.#next.get(key) === shared) this.#next.delete(key);
            // Everyone waiting for it left while it was queued: it never starts.
            controller.signal.throwIfAborted();
            this.#inflight.set(key, shared);
            return begin();
          })
        : begin(),
    };
    if (current) this.#next.set(key, shared);
    else this.#inflight.set(key, shared);
    return shared;
  }

  #join(key: K, shared: SharedRead<V>): Promise<V> {
    const signal = cancellation();
    if (!signal) {
      shared.pinned = true;
      return shared.promise;
    }
    shared.waiting++;
    return new Promise<V>((resolve, reject) => {
      let left = false;
      const leave = () => {
        if (left) return;
        left = true;
        signal.removeEventListener('abort', gone);
        shared.waiting--;
      };
      const gone = () => {
        leave();
        if (shared.waiting === 0 && !shared.pinned) {
          shared.controller.abort(new Error('every request waiting for this read ended'));
          // A queued read nobody waits for any more is not one a later caller may join.
          if (this.#next.get(key) === shared) this.#next.delete(key);
        }
        const why = signal.reason instanceof Error ? signal.reason.message : 'the request ended';
        reject(timeout(`the request ended before Coder answered its LIST: ${why}`));
      };
      if (signal.aborted) {
        gone();
        return;
      }
      signal.addEventListener('abort', gone, { once: true });
      shared.promise.then(
        (value) => {
          leave();
          resolve(value);
        },
        (err: unknown) => {
          leave();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }
}
