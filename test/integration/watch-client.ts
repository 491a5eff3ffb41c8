// A streaming watch client for integration tests: reads the newline-delimited JSON events
// of one watch request as they arrive.
import { request, type Dispatcher } from 'undici';
import { eventually } from '../util/eventually.ts';

export interface WireEvent {
  type: string;
  object: any;
}

export interface OpenedWatch {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Every event received so far. */
  events: WireEvent[];
  /** performance.now() when each event arrived. */
  receivedAt: number[];
  /** The body when the server answered with an error instead of a stream. */
  error?: any;
  ended: boolean;
  /** Waits until an event satisfying `match` has arrived; returns it. */
  next(what: string, match: (e: WireEvent) => boolean, timeoutMs?: number): Promise<WireEvent>;
  /** Waits for the server to end the stream. */
  end(timeoutMs?: number): Promise<void>;
  /** Stops reading (the socket fills up, as with a client that cannot keep up). */
  pause(): void;
  resume(): void;
  close(): void;
}

export async function openWatch(url: string, dispatcher: Dispatcher, accept = 'application/json'): Promise<OpenedWatch> {
  const abort = new AbortController();
  const res = await request(url, { method: 'GET', headers: { accept }, dispatcher, signal: abort.signal });
  const events: WireEvent[] = [];
  const receivedAt: number[] = [];
  let buffered = '';
  const watch: OpenedWatch = {
    status: res.statusCode,
    headers: res.headers,
    events,
    receivedAt,
    ended: false,
    async next(what, match, timeoutMs = 15_000) {
      return eventually(what, () => Promise.resolve(events.find(match)), timeoutMs);
    },
    async end(timeoutMs = 15_000) {
      await eventually('the watch to end', () => Promise.resolve(watch.ended || undefined), timeoutMs);
    },
    pause() {
      res.body.pause();
    },
    resume() {
      res.body.resume();
    },
    close() {
      abort.abort();
    },
  };
  if (res.statusCode !== 200) {
    watch.error = await res.body.json();
    watch.ended = true;
    return watch;
  }
  res.body.setEncoding('utf8');
  res.body.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line.trim()) continue;
      events.push(JSON.parse(line) as WireEvent);
      receivedAt.push(performance.now());
    }
  });
  res.body.on('end', () => {
    watch.ended = true;
  });
  res.body.on('error', () => {
    watch.ended = true;
  });
  return watch;
}
