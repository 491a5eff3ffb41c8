import type { Context } from 'koa';
import { resourceRef } from '../api/aggregation/v1alpha1/resources.ts';
import {
  StatusError,
  STALE_RESOURCE_VERSION,
  badRequest,
  conflict,
  fieldRequired,
  invalid,
  namespaceNotFound,
  namespaceTerminating,
  notFound,
  serviceUnavailable,
  successStatus,
  expired,
} from '../api/meta/status-error.ts';
import type { KubeObject } from '../api/meta/types.ts';
import type { Backend, StorageContext } from '../storage/context.ts';
import { ReadCoalescer } from './coalesce.ts';
import type { Storage } from '../storage/storage.ts';
import type { ResourceEvents } from '../watch/hub.ts';
import { ResourceVersionClock, preconditionHolds } from '../watch/resource-version.ts';
import { parseDeleteOptions } from './delete-options.ts';
import { negotiateRequest, parseIncludeObject } from './negotiation.ts';
import { compareObjects, paginate, parseLimit } from './paging.ts';
import { applyConfiguration, applyPatch, parsePatchBody, patchTypeOf } from './patch.ts';
import { renderList, renderObject } from './representation.ts';
import { dryRunOf, fieldValidationOf, isWatch, queryString, readBody, readObjectBody, setWarnings } from './request.ts';
import type { NamespaceScopes } from './scope.ts';
import { selectionOf } from './selectors.ts';
import { validateObject } from './validation.ts';
import { serveWatch } from './watch-handler.ts';
/** Keys kubectl adds that these objects cannot store; not worth a warning. */
const IGNORED_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration']);

export interface ResourceHandlerOptions {
  scopes: NamespaceScopes;
  maxBodyBytes: number;
  /** Lists every namespace's objects for all-namespaces requests. */
  listAll: <T extends KubeObject>(
    storage: Pick<Storage<T>, 'info' | 'list'>,
    namespaces: string[],
    context: (ns: string) => StorageContext,
  ) => Promise<T[]>;
}

/**
 * The REST verbs for one resource over a Storage: request decoding and validation,
 * content negotiation (JSON or Table), selectors, paging, patch types, preconditions,
 * dry-run and warnings. Storages see only typed objects.
 */
export class ResourceHandler<T extends KubeObject & { spec: object; status?: object }> {
  readonly #storage: Storage<T>;
  readonly #events: ResourceEvents<T>;
  readonly #reads = new ReadCoalescer<string, { items: T[]; warnings: string[] }>();
  readonly #options: ResourceHandlerOptions;

  /** Every object read or written is passed through `events`, which assigns its resourceVersion and tells watches. */
  constructor(storage: Storage<T>, events: ResourceEvents<T>, options: ResourceHandlerOptions) {
    this.#storage = storage;
    this.#events = events;
    this.#options = options;
  }

  get storage(): Storage<T> {
    return this.#storage;
  }

  #context(backend: Backend, dryRun: boolean, warnings: string[] = []): StorageContext {
    return { backend, dryRun, warnings, backendNow: () => this.#options.scopes.current(backend.namespace) };
  }

  /** The backend an existing object is read from; a namespace that is not served has no objects. */
  async #backendOf(namespace: string, name: string): Promise<Backend> {
    const scope = await this.#options.scopes.scope(namespace);
    if (scope.kind === 'served') return scope.backend;
    const missing = notFound(resourceRef(this.#storage.info, name));
    if (scope.kind !== 'terminating') throw missing;
    throw notFound(resourceRef(this.#storage.info, name), `${missing.message}: namespace "${namespace}" is being deleted and shows no Coder objects`);
  }

  async list(ctx: Context, namespace: string | undefined): Promise<void> {
    const selection = selectionOf<T>(queryString(ctx, 'labelSelector'), queryString(ctx, 'fieldSelector'), this.#storage.selectableFields);
    if (isWatch(ctx)) {
      await serveWatch(ctx, this.#storage, this.#events, namespace, selection);
      return;
    }
    const form = negotiateRequest(ctx, { table: true, metadata: 'PartialObjectMetadataList' });
    const limit = parseLimit(queryString(ctx, 'limit'));
    const includeObject = parseIncludeObject(queryString(ctx, 'includeObject'));
    const cacheable = this.#snapshotAllowed(ctx);
    const warnings: string[] = [];
    let items: T[];
    if (namespace) {
      const scope = await this.#options.scopes.scope(namespace);
      items = scope.kind === 'served' ? await this.#read(this.#context(scope.backend, false, warnings), cacheable) : [];
    } else {
      const served = await this.#options.scopes.served();
      const storage = { info: this.#storage.info, list: (sctx: StorageContext) => this.#read(sctx, cacheable) };
      items = await this.#options.listAll(storage, [...served.keys()], (ns) => {
        const backend = served.get(ns);
        if (!backend) throw new Error(`namespace ${ns} was not resolved`);
        return this.#context(backend, false, warnings);
      });
    }
    const listResourceVersion = this.#events.listResourceVersion();
    const page = paginate(items.filter(selection).sort(compareObjects), limit, queryString(ctx, 'continue'));
    setWarnings(ctx, warnings);
    ctx.body = renderList(
      form,
      this.#storage,
      page.items,
      {
        resourceVersion: listResourceVersion,
        ...(page.continueToken ? { continue: page.continueToken } : {}),
        ...(page.remainingItemCount !== undefined ? { remainingItemCount: page.remainingItemCount } : {}),
      },
      includeObject,
    );
  }

  /**
   * One namespace's objects: from the watch source's recent snapshot when allowed, else from
   * Coder, in a read shared with the LISTs of the namespace that arrive while one is in flight.
   */
  async #read(sctx: StorageContext, cacheable: boolean): Promise<T[]> {
    const namespace = sctx.backend.namespace;
    const cached = cacheable ? this.#events.cached(namespace) : undefined;
    if (cached) return cached;
    const shared = await this.#reads.run(namespace, async () => {
      const own: StorageContext = { ...sctx, warnings: [] };
      const start = this.#events.mark();
      return { items: this.#events.observeList(namespace, await this.#storage.list(own), start), warnings: own.warnings };
    });
    sctx.warnings.push(...shared.warnings);
    return shared.items;
  }

  /**
   * Checks resourceVersion and resourceVersionMatch of a LIST; true when the answer may come
   * from the watch sources' snapshots ("0": any recent state), false when it must be read
   * from Coder ("" and a specific version: a fresh read is never older than it).
   */
  #snapshotAllowed(ctx: Context): boolean {
    const rv = queryString(ctx, 'resourceVersion') ?? '';
    const match = queryString(ctx, 'resourceVersionMatch') ?? '';
    if (match && !rv) throw badRequest(`resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided`);
    if (rv && rv !== '0' && !ResourceVersionClock.parse(rv)) {
      throw badRequest(`resourceVersion: Invalid value: "${rv}": not a resourceVersion this server issues (decimal digits)`);
    }
    switch (match) {
      case '':
      case 'NotOlderThan':
        return rv === '0';
      case 'Exact':
        throw expired(`resourceVersionMatch=Exact: this server keeps no past lists (${this.#storage.info.plural} are read from Coder); list without it`);
      default:
        throw badRequest(`resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`);
    }
  }

  async get(ctx: Context, namespace: string, name: string): Promise<void> {
    const form = negotiateRequest(ctx, { table: true, metadata: 'PartialObjectMetadata' });
    const sctx = this.#context(await this.#backendOf(namespace, name), false);
    const object = await this.#current(sctx, name);
    setWarnings(ctx, sctx.warnings);
    ctx.body = renderObject(form, this.#storage, object, parseIncludeObject(queryString(ctx, 'includeObject')));
  }

  /** The object as Coder has it now, with the resourceVersion this process assigned its content. */
  async #current(sctx: StorageContext, name: string): Promise<T> {
    const start = this.#events.mark();
    return this.#events.observe(sctx.backend.namespace, await this.#storage.get(sctx, name), start);
  }

  /** A write: what it returned is published to watches at once (dry runs publish nothing). */
  async #write(sctx: StorageContext, write: () => Promise<T>): Promise<T> {
    const start = this.#events.mark();
    return this.#written(sctx, await write(), start);
  }

  #written(sctx: StorageContext, object: T, start: number): T {
    return sctx.dryRun ? object : this.#events.observe(sctx.backend.namespace, object, start);
  }

  async create(ctx: Context, namespace: string): Promise<void> {
    negotiateRequest(ctx);
    const dryRun = dryRunOf(ctx);
    const validated = validateObject<T>(this.#storage.info, await readObjectBody(ctx, this.#options.maxBodyBytes), fieldValidationOf(ctx));
    const object = this.#prepare(validated.object, namespace, undefined);
    const sctx = this.#context(await this.#backendForNew(namespace, object.metadata.name ?? ''), dryRun);
    sctx.warnings.push(...validated.warnings, ...this.#unstoredMetadataWarnings(object));
    const created = await this.#write(sctx, () => this.#storage.create(sctx, object));
    setWarnings(ctx, sctx.warnings);
    ctx.status = 201;
    ctx.body = created;
  }

  async update(ctx: Context, namespace: string, name: string): Promise<void> {
    negotiateRequest(ctx);
    const dryRun = dryRunOf(ctx);
    const validated = validateObject<T>(this.#storage.info, await readObjectBody(ctx, this.#options.maxBodyBytes), fieldValidationOf(ctx));
    const desired = this.#prepare(validated.object, namespace, name);
    const sctx = this.#context(await this.#backendOf(namespace, name), dryRun);
    sctx.warnings.push(...validated.warnings, ...this.#unstoredMetadataWarnings(desired));
    const current = await this.#current(sctx, name);
    this.#checkResourceVersion(current, desired.metadata.resourceVersion);
    ctx.body = await this.#write(sctx, () => this.#storage.update(sctx, current, desired));
    setWarnings(ctx, sctx.warnings);
  }

  async patch(ctx: Context, namespace: string, name: string): Promise<void> {
    negotiateRequest(ctx);
    const type = patchTypeOf(ctx.get('content-type'));
    const dryRun = dryRunOf(ctx);
    const fieldValidation = fieldValidationOf(ctx);
    const patch = parsePatchBody(type, await readBody(ctx, this.#options.maxBodyBytes));
    const info = this.#storage.info;

    if (type === 'apply') {
      if (!queryString(ctx, 'fieldManager')) {
        throw invalid(resourceRef(info, name), [fieldRequired('fieldManager', 'is required for apply patch')]);
      }
      if (!patch || typeof patch !== 'object' || Array.isArray(patch)) throw badRequest('apply patch: body must be an object');
      // Apply creates what does not exist, so it follows the rules for new objects.
      const sctx = this.#context(await this.#backendForNew(namespace, name), dryRun);
      const current = await this.#current(sctx, name).catch((err: unknown) => {
        if (err instanceof StatusError && err.code === 404) return undefined;
        throw err;
      });
      const merged = current ? applyConfiguration(current, patch, info.atomicMaps ?? []) : patch;
      const validated = validateObject<T>(info, merged, fieldValidation);
      const desired = this.#prepare(validated.object, namespace, name);
      sctx.warnings.push(...validated.warnings, ...this.#unstoredMetadataWarnings(patch));
      if (current) {
        this.#checkResourceVersion(current, (patch as Partial<KubeObject>).metadata?.resourceVersion);
        ctx.body = await this.#write(sctx, () => this.#storage.update(sctx, current, desired));
      } else {
        ctx.status = 201;
        ctx.body = await this.#write(sctx, () => this.#storage.create(sctx, desired));
      }
      setWarnings(ctx, sctx.warnings);
      return;
    }

    const sctx = this.#context(await this.#backendOf(namespace, name), dryRun);
    const current = await this.#current(sctx, name);
    const patched = applyPatch(type, current, patch);
    const validated = validateObject<T>(info, patched, fieldValidation);
    const desired = this.#prepare(validated.object, namespace, name);
    sctx.warnings.push(...validated.warnings);
    // A patch that carries a resourceVersion is a precondition, as in kube-apiserver.
    this.#checkResourceVersion(current, desired.metadata.resourceVersion);
    ctx.body = await this.#write(sctx, () => this.#storage.update(sctx, current, desired));
    setWarnings(ctx, sctx.warnings);
  }

  async delete(ctx: Context, namespace: string, name: string): Promise<void> {
    negotiateRequest(ctx);
    const text = ctx.request.length || ctx.get('transfer-encoding') ? await readBody(ctx, this.#options.maxBodyBytes) : '';
    const options = parseDeleteOptions(text);
    const dryRun = dryRunOf(ctx, options.dryRun);
    const ref = resourceRef(this.#storage.info, name);
    // Deleting is the one request that changes Coder data on behalf of a namespace, so the
    // namespace's phase is confirmed with kube-apiserver rather than trusted from the cache.
    const scope = await this.#options.scopes.scope(namespace, { live: true });
    if (scope.kind === 'terminating') {
      setWarnings(ctx, [
        `namespace "${namespace}" is being deleted: ${this.#storage.info.kind} ${name} leaves its view, but nothing was deleted in Coder`,
      ]);
      ctx.body = successStatus(ref);
      return;
    }
    if (scope.kind !== 'served') throw notFound(ref);
    const sctx = this.#context(scope.backend, dryRun);
    const current = await this.#current(sctx, name);
    const pre = options.preconditions ?? {};
    if (pre.uid && pre.uid !== current.metadata.uid) {
      throw conflict(ref, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid ?? ''}`);
    }
    if (pre.resourceVersion && !preconditionHolds(pre.resourceVersion, current)) {
      throw conflict(
        ref,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ''}`,
      );
    }
    const start = this.#events.mark();
    const result = await this.#storage.delete(sctx, current);
    setWarnings(ctx, sctx.warnings);
    if (result.finished) {
      if (!dryRun) this.#events.observeDeleted(namespace, current);
      ctx.body = successStatus(ref, current.metadata.uid);
    } else {
      ctx.status = 202;
      ctx.body = this.#written(sctx, result.object, start);
    }
  }

  /** Where a new object would be created: only a served namespace takes new objects. */
  async #backendForNew(namespace: string, name: string): Promise<Backend> {
    const scope = await this.#options.scopes.scope(namespace);
    switch (scope.kind) {
      case 'served':
        return scope.backend;
      case 'terminating':
        throw namespaceTerminating(resourceRef(this.#storage.info, name), namespace);
      case 'absent':
        throw namespaceNotFound(namespace);
      case 'unserved':
        throw serviceUnavailable(this.#options.scopes.unservedMessage(namespace));
    }
  }

  /** Namespace and name from the URL win; mismatches are client bugs worth a 400. */
  #prepare(object: T, namespace: string, urlName: string | undefined): T {
    const meta = object.metadata;
    const info = this.#storage.info;
    if (meta.namespace && meta.namespace !== namespace) {
      throw badRequest(
        `the namespace of the provided object (${meta.namespace}) does not match the namespace sent on the request (${namespace})`,
      );
    }
    if (urlName !== undefined && meta.name && meta.name !== urlName) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${urlName})`);
    }
    const name = meta.name ?? urlName;
    if (!name) {
      const cause = meta.generateName
        ? fieldRequired('metadata.name', 'generateName is not supported: names encode the Coder organization and object')
        : fieldRequired('metadata.name', 'name is required');
      throw invalid(resourceRef(info, ''), [cause]);
    }
    const { status: _ignored, ...rest } = object;
    return { ...rest, metadata: { ...meta, name, namespace } } as T;
  }

  #checkResourceVersion(current: T, expected: string | undefined): void {
    if (expected && !preconditionHolds(expected, current)) {
      throw conflict(resourceRef(this.#storage.info, current.metadata.name ?? ''), STALE_RESOURCE_VERSION);
    }
  }

  #unstoredMetadataWarnings(object: Partial<KubeObject>): string[] {
    const warnings: string[] = [];
    const annotations = Object.keys(object.metadata?.annotations ?? {}).filter((k) => !IGNORED_ANNOTATIONS.has(k));
    if (annotations.length > 0) warnings.push(`metadata.annotations are not stored by Coder and were ignored: ${annotations.join(', ')}`);
    const labels = Object.keys(object.metadata?.labels ?? {}).filter((k) => !k.startsWith(`${this.#storage.info.group}/`));
    if (labels.length > 0) warnings.push(`metadata.labels are computed from Coder; these were ignored: ${labels.join(', ')}`);
    if (object.metadata?.finalizers) warnings.push('metadata.finalizers are not supported and were ignored');
    return warnings;
  }
}
