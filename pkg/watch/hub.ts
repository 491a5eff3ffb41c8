import { expired } from '../api/meta/status-error.ts';
import type { KubeObject } from '../api/meta/types.ts';
import type { NamespaceScope } from '../apiserver/scope.ts';
import { countCoderRequests } from '../coder/client.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Backend } from '../storage/context.ts';
import type { Storage } from '../storage/storage.ts';
import { ResourceVersionClock } from './resource-version.ts';
import { EventSource, type PollReport } from './source.ts';
import type { Change, WatchSink } from './types.ts';
import { Watcher } from './watcher.ts';

/** How long a watcher's backlog over --watch-buffer-size may go without shrinking before it is closed. */
const OVERFLOW_GRACE_MS = 2000;

/** Which namespaces are served, and by which Coder (the API server's NamespaceScopes). */
export interface ServedNamespaces {
  scope(namespace: string): Promise<NamespaceScope>;
  served(): Promise<Map<string, Backend>>;
}

export interface WatchOptions {
  /** How often a source with watchers reads its Coder (jittered ±20 %). */
  pollIntervalMs: number;
  /** Changes kept per source for watches that resume from a resourceVersion. */
  historySize: number;
  /** Live changes a watcher may hold unsent; over it, a backlog that stops shrinking closes the watch. */
  bufferSize: number;
  bookmarkIntervalMs: number;
  /** Watches without timeoutSeconds end after between one and two times this; timeoutSeconds is capped at twice it. */
  minRequestTimeoutMs: number;
  /** How often open watches follow namespaces that become served or stop being served. */
  membershipIntervalMs: number;
}

export interface WatchRequest<T> {
  /** undefined: every namespace. */
  namespace?: string | undefined;
  resourceVersion: string;
  /** undefined: send the current state first only when resourceVersion is "" or "0" (the legacy rule). */
  sendInitialEvents?: boolean | undefined;
  allowWatchBookmarks: boolean;
  timeoutSeconds?: number | undefined;
  matches: (object: T) => boolean;
}

interface OpenWatch<T extends KubeObject> {
  watcher: Watcher<T>;
  namespace: string | undefined;
  subscriptions: Map<string, () => void>;
}

export interface WatchHubOptions extends WatchOptions {
  namespaces: ServedNamespaces;
  metrics: Metrics;
  logger: Logger;
  clock?: ResourceVersionClock;
}

/**
 * Every resource's event sources and watches, over one resourceVersion clock. The API
 * server feeds it what it reads and writes; watches read from it.
 */
export class WatchHub {
  readonly clock: ResourceVersionClock;
  readonly #o: WatchHubOptions;
  readonly #resources = new Map<string, ResourceEvents<KubeObject>>();

  constructor(options: WatchHubOptions) {
    this.#o = options;
    this.clock = options.clock ?? new ResourceVersionClock();
  }

  resource<T extends KubeObject>(storage: Storage<T>): ResourceEvents<T> {
    let events = this.#resources.get(storage.info.plural);
    if (!events) {
      events = new ResourceEvents(storage as unknown as Storage<KubeObject>, this.clock, this.#o);
      this.#resources.set(storage.info.plural, events);
    }
    return events as unknown as ResourceEvents<T>;
  }

  /** Ends every watch cleanly and stops polling (shutdown). */
  stop(): void {
    for (const events of this.#resources.values()) events.stop();
  }
}

/**
 * One resource: an EventSource per namespace (created by the first read there, retired
 * when the namespace stops being served) and the watches open on it.
 */
export class ResourceEvents<T extends KubeObject> {
  readonly #storage: Storage<T>;
  readonly #clock: ResourceVersionClock;
  readonly #o: WatchHubOptions;
  readonly #sources = new Map<string, EventSource<T>>();
  /** Namespace → position at which its source was retired: resuming from before it is not possible. */
  readonly #retiredAt = new Map<string, number>();
  readonly #watches = new Set<OpenWatch<T>>();
  #membershipTimer: NodeJS.Timeout | undefined;
  #following = false;

  constructor(storage: Storage<T>, clock: ResourceVersionClock, options: WatchHubOptions) {
    this.#storage = storage;
    this.#clock = clock;
    this.#o = options;
  }

  /** The position a read starts at; pass it with what the read returned. */
  mark(): number {
    return this.#clock.current;
  }

  /** The resourceVersion of a list answered now. */
  listResourceVersion(): string {
    return this.#clock.formatCurrent();
  }

  /** An object read or written: returned with the resourceVersion this process assigned its content. */
  observe(namespace: string, object: T, readStart: number): T {
    const resourceVersion = this.#source(namespace).applyOne(this.#storage.listView(object), readStart);
    return { ...object, metadata: { ...object.metadata, resourceVersion } };
  }

  observeDeleted(namespace: string, object: T): void {
    this.#source(namespace).applyDeleted(this.#storage.listView(object));
  }

  /** A namespace's full list: returns the objects as this process now knows them. */
  observeList(namespace: string, items: readonly T[], readStart: number): T[] {
    return this.#source(namespace).applyList(items, readStart);
  }

  /** The namespace's objects when a full read started within the poll interval (resourceVersion=0 lists). */
  cached(namespace: string): T[] | undefined {
    const source = this.#sources.get(namespace);
    return source?.fresh(this.#o.pollIntervalMs) ? source.snapshot() : undefined;
  }

  /**
   * Opens a watch. Throws a StatusError (410 for a resourceVersion outside the window)
   * before anything is streamed; afterwards every outcome is an event or a clean end.
   */
  async watch(request: WatchRequest<T>, sink: WatchSink<T>): Promise<void> {
    const rv = request.resourceVersion;
    const initial = request.sendInitialEvents ?? (rv === '' || rv === '0');
    // undefined: send the current state; otherwise the position to replay changes after.
    let from: number | undefined;
    if (!initial) {
      if (rv === '' || rv === '0') from = this.#clock.current;
      else {
        const parsed = ResourceVersionClock.parse(rv);
        if (!parsed || !this.#clock.issued(parsed)) {
          throw expired(`resourceVersion ${rv} was not issued by this server process (another replica or an earlier process); list again`);
        }
        from = parsed.counter;
      }
    }
    const members = await this.#members(request.namespace);
    // Reads first (they are asynchronous); then, synchronously, the checks, the state or
    // the replay, and the subscriptions, so that no change can fall between them.
    const needsRead = (source: EventSource<T>): boolean => {
      if (from !== undefined) return from < source.createdAt && !source.complete;
      return rv === '' || !source.fresh(this.#o.pollIntervalMs);
    };
    await Promise.all(members.filter((ns) => needsRead(this.#source(ns))).map((ns) => this.#source(ns).refresh()));

    const replay: Change<T>[] = [];
    const current = new Set<string>(from === undefined ? members : []);
    if (from !== undefined) {
      for (const ns of members) {
        const source = this.#source(ns);
        if (from < source.createdAt) {
          // No source here at that position: the client saw nothing of this namespace, unless
          // an earlier source was retired since (then what it saw may be gone).
          if ((this.#retiredAt.get(ns) ?? -1) > from) throw tooOld(rv, ns);
          current.add(ns);
        } else if (from < source.windowStart) throw tooOld(rv, ns);
        else replay.push(...source.changesSince(from));
      }
    }
    const open: OpenWatch<T> = { namespace: request.namespace, subscriptions: new Map(), watcher: this.#watcher(request, sink, () => open) };
    for (const ns of members) join(open, ns, this.#source(ns), current.has(ns));
    for (const change of replay.sort((a, b) => a.counter - b.counter)) open.watcher.change(change);
    if (request.sendInitialEvents) open.watcher.bookmark(this.#clock.formatCurrent(), true);
    if (open.watcher.closed) {
      // Gone already (client disconnected, or too slow for the initial state).
      for (const unsubscribe of open.subscriptions.values()) unsubscribe();
      return;
    }
    this.#watches.add(open);
    this.#o.metrics.watchers.inc({ resource: this.#storage.info.plural });
    this.#follow();
  }

  stop(): void {
    for (const open of [...this.#watches]) open.watcher.close();
    for (const source of this.#sources.values()) source.stop();
    clearTimeout(this.#membershipTimer);
    this.#following = false;
  }

  #watcher(request: WatchRequest<T>, sink: WatchSink<T>, open: () => OpenWatch<T>): Watcher<T> {
    const resource = this.#storage.info.plural;
    const max = 2 * this.#o.minRequestTimeoutMs;
    const timeoutMs =
      request.timeoutSeconds !== undefined
        ? Math.min(request.timeoutSeconds * 1000, max)
        : this.#o.minRequestTimeoutMs * (1 + Math.random());
    const watcher = new Watcher<T>(sink, {
      bufferSize: this.#o.bufferSize,
      graceMs: OVERFLOW_GRACE_MS,
      matches: request.matches,
      timeoutMs,
      ...(request.allowWatchBookmarks
        ? { bookmarks: { intervalMs: this.#o.bookmarkIntervalMs, resourceVersion: () => this.#clock.formatCurrent() } }
        : {}),
      onDropped: (count) => {
        this.#o.metrics.watchEventsDropped.inc({ resource, reason: 'slow_watcher' }, count);
        this.#o.logger.warn('closed a watch that could not keep up', { resource, namespace: request.namespace, dropped: count });
      },
      onClose: () => {
        const state = open();
        for (const unsubscribe of state.subscriptions.values()) unsubscribe();
        state.subscriptions.clear();
        if (this.#watches.delete(state)) this.#o.metrics.watchers.dec({ resource });
      },
    });
    return watcher;
  }

  /** The namespaces a new watch covers now; a single namespace that is not served yet is joined later. */
  async #members(namespace: string | undefined): Promise<string[]> {
    if (namespace === undefined) return [...(await this.#o.namespaces.served()).keys()].sort();
    const scope = await this.#o.namespaces.scope(namespace);
    return scope.kind === 'served' ? [namespace] : [];
  }

  #source(namespace: string): EventSource<T> {
    let source = this.#sources.get(namespace);
    if (source) return source;
    const resource = this.#storage.info.plural;
    const metrics = this.#o.metrics;
    source = new EventSource<T>({
      clock: this.#clock,
      historySize: this.#o.historySize,
      pollIntervalMs: this.#o.pollIntervalMs,
      read: async () => {
        const scope = await this.#o.namespaces.scope(namespace);
        if (scope.kind !== 'served') throw new Error(`namespace "${namespace}" is not served`);
        const { value, requests } = await countCoderRequests(() =>
          this.#storage.list({ backend: scope.backend, dryRun: false, warnings: [] }),
        );
        metrics.watchReadCoderRequests.observe({ resource }, requests);
        return value;
      },
      onPoll: (report: PollReport) => {
        metrics.watchPollDuration.observe({ resource, result: report.ok ? 'success' : 'error' }, report.seconds);
        if (!report.ok) {
          const error = report.error instanceof Error ? report.error.message : String(report.error);
          this.#o.logger.warn('watch poll failed', { resource, namespace, error });
        }
      },
    });
    this.#sources.set(namespace, source);
    return source;
  }

  /** While watches are open, follows namespaces joining and leaving the served set. */
  #follow(): void {
    if (this.#following) return;
    this.#following = true;
    const tick = async () => {
      try {
        await this.#reconcileMembership();
      } catch (err) {
        this.#o.logger.warn('cannot tell which namespaces are served; watches keep their namespaces', {
          resource: this.#storage.info.plural,
          error: err instanceof Error ? err.message : String(err),
        });
      }
      if (this.#watches.size === 0) this.#following = false;
      if (this.#following) this.#schedule(tick);
    };
    this.#schedule(tick);
  }

  #schedule(tick: () => Promise<void>): void {
    this.#membershipTimer = setTimeout(() => void tick(), this.#o.membershipIntervalMs);
    this.#membershipTimer.unref();
  }

  async #reconcileMembership(): Promise<void> {
    const served = await this.#o.namespaces.served();
    for (const [ns, source] of this.#sources) {
      if (served.has(ns)) continue;
      const resourceVersion = this.#clock.formatCurrent();
      const snapshot = source.snapshot();
      for (const open of [...this.#watches]) {
        const unsubscribe = open.subscriptions.get(ns);
        if (!unsubscribe) continue;
        if (open.namespace === ns) open.watcher.close();
        else {
          unsubscribe();
          open.subscriptions.delete(ns);
          open.watcher.removed(snapshot, resourceVersion);
        }
      }
      source.stop();
      this.#sources.delete(ns);
      this.#retiredAt.set(ns, this.#clock.next());
    }
    const joining = [...served.keys()].filter((ns) =>
      [...this.#watches].some((open) => !open.subscriptions.has(ns) && (open.namespace === undefined || open.namespace === ns)),
    );
    // A namespace whose Coder cannot be read yet joins at a later tick; the others do not wait.
    await Promise.allSettled(joining.filter((ns) => !this.#source(ns).complete).map((ns) => this.#source(ns).refresh()));
    for (const ns of joining) {
      const source = this.#sources.get(ns);
      if (!source?.complete) continue;
      for (const open of this.#watches) {
        if (open.subscriptions.has(ns) || (open.namespace !== undefined && open.namespace !== ns)) continue;
        join(open, ns, source, true);
      }
    }
  }
}

/** Subscribes a watch to a namespace's source, first sending its current state when `withState`. */
function join<T extends KubeObject>(open: OpenWatch<T>, namespace: string, source: EventSource<T>, withState: boolean): void {
  if (withState) open.watcher.added(sortByName(source.snapshot()));
  open.subscriptions.set(
    namespace,
    source.subscribe((change) => {
      open.watcher.change(change);
    }),
  );
}

function tooOld(rv: string, namespace: string): Error {
  return expired(`too old resource version: ${rv} is older than the changes kept for namespace "${namespace}"; list again`);
}

function sortByName<T extends KubeObject>(objects: T[]): T[] {
  return objects.sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}
