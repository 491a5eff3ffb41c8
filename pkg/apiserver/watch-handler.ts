import type { Context } from 'koa';
import { badRequest } from '../api/meta/status-error.ts';
import type { KubeObject } from '../api/meta/types.ts';
import type { Storage } from '../storage/storage.ts';
import type { ResourceEvents } from '../watch/hub.ts';
import type { WatchEvent, WatchSink } from '../watch/types.ts';
import { negotiateRequest, parseIncludeObject, type IncludeObject, type ResponseForm } from './negotiation.ts';
import { renderObject } from './representation.ts';
import { queryString } from './request.ts';

const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

function parseBoolean(ctx: Context, name: string): boolean | undefined {
  const value = queryString(ctx, name);
  if (value === undefined || value === '') return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw badRequest(`${name}: invalid value "${value}": must be true or false`);
}

/** The watch parameters of a list request, checked the way kube-apiserver checks ListOptions. */
function parseWatchParams(ctx: Context): {
  resourceVersion: string;
  sendInitialEvents: boolean | undefined;
  allowWatchBookmarks: boolean;
  timeoutSeconds: number | undefined;
} {
  const resourceVersion = queryString(ctx, 'resourceVersion') ?? '';
  const match = queryString(ctx, 'resourceVersionMatch') ?? '';
  const sendInitialEvents = parseBoolean(ctx, 'sendInitialEvents');
  const allowWatchBookmarks = parseBoolean(ctx, 'allowWatchBookmarks') ?? false;
  const timeout = queryString(ctx, 'timeoutSeconds');
  if (timeout !== undefined && !/^\d+$/.test(timeout)) throw badRequest(`timeoutSeconds: invalid value "${timeout}": must be a non-negative integer`);
  if (sendInitialEvents !== undefined) {
    if (match !== 'NotOlderThan') {
      throw badRequest('resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
    }
    if (sendInitialEvents && !allowWatchBookmarks) {
      throw badRequest('allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true');
    }
  } else if (match) {
    throw badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
  }
  const timeoutSeconds = timeout !== undefined && Number(timeout) > 0 ? Number(timeout) : undefined;
  return { resourceVersion, sendInitialEvents, allowWatchBookmarks, timeoutSeconds };
}

/**
 * A watch over HTTP: one JSON event per line ({"type","object"}), in the negotiated form —
 * objects, one-row Tables for `kubectl get -w` (column definitions in the first only, as
 * kube-apiserver sends them), or PartialObjectMetadata. Errors found before the first
 * event are ordinary Status responses; the status line is sent with the first event.
 */
export async function serveWatch<T extends KubeObject>(
  ctx: Context,
  storage: Storage<T>,
  events: ResourceEvents<T>,
  namespace: string | undefined,
  matches: (object: T) => boolean,
): Promise<void> {
  const form = negotiateRequest(ctx, { table: true, metadata: 'PartialObjectMetadata' });
  const includeObject = parseIncludeObject(queryString(ctx, 'includeObject'));
  const params = parseWatchParams(ctx);
  const sink = new ResponseSink<T>(ctx, storage, form, includeObject);
  await events.watch({ namespace, matches, ...params }, sink);
  sink.start();
  ctx.respond = false;
}

class ResponseSink<T extends KubeObject> implements WatchSink<T> {
  readonly #ctx: Context;
  readonly #storage: Storage<T>;
  readonly #form: ResponseForm;
  readonly #includeObject: IncludeObject;
  #started = false;
  #tableHeaders = true;

  constructor(ctx: Context, storage: Storage<T>, form: ResponseForm, includeObject: IncludeObject) {
    this.#ctx = ctx;
    this.#storage = storage;
    this.#form = form;
    this.#includeObject = includeObject;
  }

  /** Sends the status line now if no event has (a watch with nothing to say yet). */
  start(): void {
    if (this.#started || this.#ctx.res.writableEnded) return;
    this.#started = true;
    const res = this.#ctx.res;
    // No length: HTTP/1.1 streams it chunked, HTTP/2 as DATA frames (where Transfer-Encoding is forbidden).
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
  }

  write(event: WatchEvent<T>): boolean {
    this.start();
    return this.#ctx.res.write(`${JSON.stringify(this.#frame(event))}\n`);
  }

  onDrain(listener: () => void): void {
    this.#ctx.res.on('drain', listener);
  }

  onClose(listener: () => void): void {
    const res = this.#ctx.res;
    if (res.destroyed || this.#ctx.req.destroyed) {
      queueMicrotask(listener);
      return;
    }
    res.once('close', listener);
  }

  end(): void {
    this.start();
    this.#ctx.res.end();
  }

  #frame(event: WatchEvent<T>): { type: string; object: unknown } {
    switch (event.type) {
      case 'ERROR':
        return { type: 'ERROR', object: event.status };
      case 'BOOKMARK':
        return { type: 'BOOKMARK', object: this.#bookmark(event.resourceVersion, event.initialEventsEnd) };
      default: {
        const object = renderObject(this.#form, this.#storage, event.object, this.#includeObject, this.#tableHeaders);
        if (this.#form === 'table') this.#tableHeaders = false;
        return { type: event.type, object };
      }
    }
  }

  #bookmark(resourceVersion: string, initialEventsEnd: boolean): unknown {
    const metadata = { resourceVersion, ...(initialEventsEnd ? { annotations: { [INITIAL_EVENTS_END]: 'true' } } : {}) };
    const info = this.#storage.info;
    if (this.#form === 'metadata') return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata };
    if (this.#form === 'table') return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata, columnDefinitions: [], rows: [] };
    return { kind: info.kind, apiVersion: `${info.group}/${info.version}`, metadata };
  }
}
