import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { CODER_WORKSPACE } from '../api/aggregation/v1alpha1/resources.ts';
import { StatusError } from '../api/meta/status-error.ts';
import type { KubeObject } from '../api/meta/types.ts';
import type { NamespaceScope } from '../apiserver/scope.ts';
import { nullLogger } from '../logging/logger.ts';
import { createMetrics, type Metrics } from '../metrics/metrics.ts';
import type { Backend } from '../storage/context.ts';
import { OBJECT_META_FIELDS, type Storage } from '../storage/storage.ts';
import { WatchHub, type ResourceEvents, type WatchRequest } from './hub.ts';
import { ResourceVersionClock } from './resource-version.ts';
import type { WatchEvent, WatchSink } from './types.ts';

type Obj = KubeObject & { spec: { v: number } };
const obj = (namespace: string, name: string, v = 0): Obj => ({
  apiVersion: 'x/v1',
  kind: 'X',
  metadata: { name, namespace, uid: `${namespace}-${name}`, labels: { team: name.startsWith('a') ? 'a' : 'b' } },
  spec: { v },
});

/** What Coder holds, per namespace; the storage reads it. */
const coder = new Map<string, Obj[]>();
let served = new Set<string>();
const backend = (namespace: string) => ({ namespace, url: `https://${namespace}`, coder: {} as never }) satisfies Backend;

const storage: Storage<Obj> = {
  info: CODER_WORKSPACE,
  columns: [],
  row: () => [],
  selectableFields: OBJECT_META_FIELDS,
  listView: (o) => o,
  list: (ctx) => Promise.resolve(structuredClone(coder.get(ctx.backend.namespace) ?? [])),
  get: () => Promise.reject(new Error('unused')),
  create: () => Promise.reject(new Error('unused')),
  update: () => Promise.reject(new Error('unused')),
  delete: () => Promise.reject(new Error('unused')),
};

class RecordingSink implements WatchSink<Obj> {
  readonly events: WatchEvent<Obj>[] = [];
  accepting = true;
  ended = false;
  #drain: (() => void) | undefined;
  #close: (() => void) | undefined;
  write(event: WatchEvent<Obj>): boolean {
    this.events.push(event);
    return this.accepting;
  }
  onDrain(listener: () => void): void {
    this.#drain = listener;
  }
  onClose(listener: () => void): void {
    this.#close = listener;
  }
  end(): void {
    this.ended = true;
  }
  drain(): void {
    this.accepting = true;
    this.#drain?.();
  }
  /** The transport takes one more event, then is full again. */
  drainOne(): void {
    this.accepting = false;
    this.#drain?.();
  }
  disconnect(): void {
    this.#close?.();
  }
  summary(): string[] {
    return this.events.map((e) =>
      e.type === 'BOOKMARK'
        ? `BOOKMARK${e.initialEventsEnd ? ' end' : ''}`
        : e.type === 'ERROR'
          ? `ERROR ${String(e.status.code)}`
          : `${e.type} ${e.object.metadata.namespace ?? ''}/${e.object.metadata.name ?? ''}:${String(e.object.spec.v)}`,
    );
  }
}

let metrics: Metrics;
let hub: WatchHub;
let events: ResourceEvents<Obj>;

function request(overrides: Partial<WatchRequest<Obj>> = {}): WatchRequest<Obj> {
  return { resourceVersion: '', allowWatchBookmarks: false, matches: () => true, ...overrides };
}

async function list(namespace: string): Promise<{ items: Obj[]; resourceVersion: string }> {
  const start = events.mark();
  const items = events.observeList(namespace, await storage.list({ backend: backend(namespace), dryRun: false, warnings: [] }), start);
  return { items, resourceVersion: events.listResourceVersion() };
}

/** A write through the server: Coder changes, and the result is published. */
function write(namespace: string, object: Obj): void {
  coder.set(namespace, [...(coder.get(namespace) ?? []).filter((o) => o.metadata.name !== object.metadata.name), object]);
  events.observe(namespace, object, events.mark());
}

async function watch(overrides: Partial<WatchRequest<Obj>> = {}): Promise<RecordingSink> {
  const sink = new RecordingSink();
  await events.watch(request(overrides), sink);
  return sink;
}

beforeEach(() => {
  coder.clear();
  coder.set('a', [obj('a', 'a1'), obj('a', 'b1')]);
  coder.set('b', [obj('b', 'a2')]);
  served = new Set(['a', 'b']);
  metrics = createMetrics({ defaultMetrics: false });
  hub = new WatchHub({
    pollIntervalMs: 1000,
    historySize: 5,
    bufferSize: 3,
    bookmarkIntervalMs: 10_000,
    minRequestTimeoutMs: 60_000,
    membershipIntervalMs: 500,
    metrics,
    logger: nullLogger(),
    namespaces: {
      scope: (ns): Promise<NamespaceScope> => Promise.resolve(served.has(ns) ? { kind: 'served', backend: backend(ns) } : { kind: 'unserved' }),
      served: () => Promise.resolve(new Map([...served].map((ns) => [ns, backend(ns)]))),
    },
  });
  events = hub.resource(storage);
});

afterEach(() => {
  hub.stop();
  jest.useRealTimers();
});

describe('watch: initial state and resume', () => {
  it('sends the current state of every namespace, then a bookmark ending the initial events (watch-list)', async () => {
    const sink = await watch({ sendInitialEvents: true, allowWatchBookmarks: true });
    expect(sink.summary()).toEqual(['ADDED a/a1:0', 'ADDED a/b1:0', 'ADDED b/a2:0', 'BOOKMARK end']);
    expect(await metrics.registry.getSingleMetricAsString('coder_k8s_watchers')).toContain('coder_k8s_watchers{resource="coderworkspaces"} 1');
  });

  it('resumes from a list\'s resourceVersion with exactly the changes after it', async () => {
    const { resourceVersion } = await list('a');
    events.observe('a', obj('a', 'a1', 1), events.mark());
    const sink = await watch({ namespace: 'a', resourceVersion });
    events.observeDeleted('a', obj('a', 'b1'));
    expect(sink.summary()).toEqual(['MODIFIED a/a1:1', 'DELETED a/b1:0']);
  });

  it('answers 410 Expired for a version from another process and for one older than the history', async () => {
    const foreign = new ResourceVersionClock(Date.now(), (hub.clock.tag + 1) % 2 ** 20);
    const other = foreign.format(foreign.next());
    await expect(watch({ resourceVersion: other })).rejects.toMatchObject({ code: 410, reason: 'Expired' });

    const { resourceVersion } = await list('a');
    for (let v = 1; v <= 6; v++) events.observe('a', obj('a', 'a1', v), events.mark());
    const err = await watch({ namespace: 'a', resourceVersion }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).status).toMatchObject({ code: 410, reason: 'Expired' });
    expect((err as StatusError).message).toContain('too old resource version');
  });

  it('filters through selectors: an object leaving the selection is DELETED for the watcher, one entering ADDED', async () => {
    const { resourceVersion } = await list('a');
    const sink = await watch({ namespace: 'a', resourceVersion, matches: (o) => o.spec.v > 0 });
    events.observe('a', obj('a', 'a1', 1), events.mark());
    events.observe('a', obj('a', 'a1', 0), events.mark());
    expect(sink.summary()).toEqual(['ADDED a/a1:1', 'DELETED a/a1:1']);
    const last = sink.events[1];
    // At the position of the change that made it leave.
    const at = (rv: string | undefined) => ResourceVersionClock.parse(rv ?? '')?.counter;
    expect(last?.type === 'DELETED' && at(last.object.metadata.resourceVersion)).toBe(at(events.listResourceVersion()));
  });
});

describe('watch: namespaces joining and leaving', () => {
  it('adds a namespace that becomes served to all-namespaces watches and ends single-namespace watches of one that stops', async () => {
    jest.useFakeTimers();
    served = new Set(['a']);
    const all = await watch({ resourceVersion: '0' });
    const onlyA = await watch({ namespace: 'a', resourceVersion: '0' });
    expect(all.summary()).toEqual(['ADDED a/a1:0', 'ADDED a/b1:0']);
    served = new Set(['b']);
    await jest.advanceTimersByTimeAsync(600);
    expect(all.summary().slice(2)).toEqual(['DELETED a/a1:0', 'DELETED a/b1:0', 'ADDED b/a2:0']);
    expect(onlyA.ended).toBe(true);
    expect(all.ended).toBe(false);
  });

  it('refuses to resume across a namespace whose source was retired since', async () => {
    jest.useFakeTimers();
    const { resourceVersion } = await list('a');
    const keepFollowing = await watch({ resourceVersion: '0' });
    served = new Set(['b']);
    await jest.advanceTimersByTimeAsync(600);
    served = new Set(['a', 'b']);
    await expect(watch({ namespace: 'a', resourceVersion })).rejects.toMatchObject({ code: 410 });
    keepFollowing.disconnect();
  });
});

describe('watch: delivery', () => {
  it('polls Coder while watched and shows changes made outside Kubernetes', async () => {
    jest.useFakeTimers();
    const sink = await watch({ namespace: 'b', resourceVersion: '0' });
    coder.set('b', [obj('b', 'a2', 7), obj('b', 'a3')]);
    await jest.advanceTimersByTimeAsync(1300);
    expect(sink.summary()).toEqual(['ADDED b/a2:0', 'MODIFIED b/a2:7', 'ADDED b/a3:0']);
    sink.disconnect();
    expect(await metrics.registry.getSingleMetricAsString('coder_k8s_watchers')).toContain('coder_k8s_watchers{resource="coderworkspaces"} 0');
    coder.set('b', []);
    await jest.advanceTimersByTimeAsync(5000);
    expect(sink.events).toHaveLength(3);
  });

  it('sends bookmarks at the interval when allowed, and ends at timeoutSeconds', async () => {
    jest.useFakeTimers();
    const sink = await watch({ namespace: 'a', resourceVersion: '0', allowWatchBookmarks: true, timeoutSeconds: 25 });
    await jest.advanceTimersByTimeAsync(20_500);
    expect(sink.summary().filter((s) => s.startsWith('BOOKMARK'))).toHaveLength(2);
    expect(sink.ended).toBe(false);
    await jest.advanceTimersByTimeAsync(5000);
    expect(sink.ended).toBe(true);
  });

  it('closes a watcher that stays behind with a 410 ERROR and counts what it missed; others see everything', async () => {
    jest.useFakeTimers();
    const { resourceVersion } = await list('a');
    const slow = await watch({ namespace: 'a', resourceVersion });
    const fast = await watch({ namespace: 'a', resourceVersion });
    slow.accepting = false;
    for (let v = 1; v <= 5; v++) {
      write('a', obj('a', 'a1', v));
      fast.drain();
    }
    expect(fast.summary()).toEqual([1, 2, 3, 4, 5].map((v) => `MODIFIED a/a1:${String(v)}`));
    expect(slow.summary()).toEqual(['MODIFIED a/a1:1']);
    await jest.advanceTimersByTimeAsync(2100);
    expect(slow.summary()).toEqual(['MODIFIED a/a1:1', 'ERROR 410']);
    expect(slow.ended).toBe(true);
    expect(await metrics.registry.getSingleMetricAsString('coder_k8s_watch_events_dropped_total')).toContain(
      'coder_k8s_watch_events_dropped_total{resource="coderworkspaces",reason="slow_watcher"} 4',
    );
  });

  it('keeps a watcher whose backlog over the buffer keeps shrinking', async () => {
    jest.useFakeTimers();
    const { resourceVersion } = await list('a');
    const catchingUp = await watch({ namespace: 'a', resourceVersion });
    catchingUp.accepting = false;
    for (let v = 1; v <= 8; v++) write('a', obj('a', 'a1', v));
    for (let step = 0; step < 3; step++) {
      await jest.advanceTimersByTimeAsync(1900);
      catchingUp.accepting = false;
      catchingUp.drainOne();
    }
    expect(catchingUp.ended).toBe(false);
    catchingUp.drain();
    expect(catchingUp.summary()).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((v) => `MODIFIED a/a1:${String(v)}`));
  });

  it('lets a watcher catch up after a burst larger than its buffer', async () => {
    jest.useFakeTimers();
    const { resourceVersion } = await list('a');
    const bursty = await watch({ namespace: 'a', resourceVersion });
    bursty.accepting = false;
    for (let v = 1; v <= 5; v++) write('a', obj('a', 'a1', v));
    await jest.advanceTimersByTimeAsync(1000);
    bursty.drain();
    await jest.advanceTimersByTimeAsync(2000);
    expect(bursty.summary()).toEqual([1, 2, 3, 4, 5].map((v) => `MODIFIED a/a1:${String(v)}`));
    expect(bursty.ended).toBe(false);
  });
});
