import { parseWorkspaceName } from '../../api/aggregation/v1alpha1/names.ts';
import { CODER_WORKSPACE, resourceRef } from '../../api/aggregation/v1alpha1/resources.ts';
import type { CoderWorkspace } from '../../api/aggregation/v1alpha1/types.ts';
import { alreadyExists, conflict, fieldInvalid, fieldRequired, internalError, invalid, notFound } from '../../api/meta/status-error.ts';
import type { StatusCause, TableColumnDefinition } from '../../api/meta/types.ts';
import { isCoderApiError, isNotFound } from '../../coder/errors.ts';
import type { WorkspaceTransition } from '../../coder/types.ts';
import { isJobActive, waitForWorkspaceBuild } from '../build-wait.ts';
import { toStatusError } from '../coder-errors.ts';
import type { StorageContext } from '../context.ts';
import { organizationByName } from '../lookups.ts';
import { OBJECT_META_FIELDS, type DeleteResult, type Storage } from '../storage.ts';
import { toCoderWorkspace } from './convert.ts';

export interface WorkspaceStorageOptions {
  /**
   * How long a request waits on Coder builds: DELETE for the delete build before answering
   * 202; a start/stop for a build already in flight before answering 409 with Retry-After;
   * a create with running: false for the first build before issuing the stop.
   */
  buildWaitMs: number;
}

/** What a client is told to wait before trying again while a build runs. */
const BUILD_RETRY_AFTER_SECONDS = 5;

export class WorkspaceStorage implements Storage<CoderWorkspace> {
  readonly info = CODER_WORKSPACE;
  readonly columns: readonly TableColumnDefinition[] = [
    { name: 'Name', type: 'string', format: 'name', description: 'Object name: <organization>.<owner>.<workspace>.', priority: 0 },
    { name: 'Owner', type: 'string', format: '', description: 'Username of the owner.', priority: 0 },
    { name: 'Template', type: 'string', format: '', description: 'Template the workspace is built from.', priority: 0 },
    { name: 'Status', type: 'string', format: '', description: 'Status of the latest build.', priority: 0 },
    { name: 'Running', type: 'boolean', format: '', description: 'Desired power state (spec.running).', priority: 0 },
    { name: 'Age', type: 'date', format: '', description: 'Time since the workspace was created in Coder.', priority: 0 },
    { name: 'Organization', type: 'string', format: '', description: 'Coder organization.', priority: 1 },
    { name: 'Last-Used', type: 'date', format: '', description: 'Last time the workspace was used.', priority: 1 },
    { name: 'Auto-Shutdown', type: 'string', format: 'date-time', description: 'When the workspace stops automatically.', priority: 1 },
  ];

  readonly selectableFields = OBJECT_META_FIELDS;

  readonly #options: WorkspaceStorageOptions;

  constructor(options: WorkspaceStorageOptions) {
    this.#options = options;
  }

  row(w: CoderWorkspace): unknown[] {
    const s = w.status ?? {};
    return [
      w.metadata.name,
      s.ownerName ?? '',
      s.templateName ?? w.spec.templateName,
      s.latestBuildStatus ?? '',
      w.spec.running ?? false,
      w.metadata.creationTimestamp ?? '',
      s.organizationName ?? w.spec.organization,
      s.lastUsedAt ?? '',
      s.autoShutdown ?? '',
    ];
  }

  listView(w: CoderWorkspace): CoderWorkspace {
    return w;
  }

  async get(ctx: StorageContext, name: string): Promise<CoderWorkspace> {
    const ref = resourceRef(this.info, name);
    const { organization, owner, workspace } = parseWorkspaceName(name);
    try {
      const w = await ctx.backend.coder.getWorkspaceByOwnerAndName(owner, workspace).catch((err: unknown) => {
        // Coder answers 400 for an owner that does not exist: to Kubernetes it is simply absent.
        if (isCoderApiError(err) && err.statusCode === 400) throw notFound(ref);
        throw err;
      });
      // Coder resolves aliases and case; an object is only found under its own name.
      if (w.organization_name.toLowerCase() !== organization || w.owner_name.toLowerCase() !== owner || w.name.toLowerCase() !== workspace) {
        throw notFound(ref);
      }
      return toCoderWorkspace(ctx.backend.namespace, w);
    } catch (err) {
      throw toStatusError(err, ref, ctx.backend);
    }
  }

  async list(ctx: StorageContext): Promise<CoderWorkspace[]> {
    try {
      return await ctx.backend.coder.listAllWorkspaces((w) => toCoderWorkspace(ctx.backend.namespace, w));
    } catch (err) {
      throw toStatusError(err, resourceRef(this.info), ctx.backend);
    }
  }

  async create(ctx: StorageContext, object: CoderWorkspace): Promise<CoderWorkspace> {
    const name = object.metadata.name ?? '';
    const ref = resourceRef(this.info, name);
    const { organization, owner, workspace } = parseWorkspaceName(name);
    const spec = object.spec;
    const causes: StatusCause[] = [];
    if (!spec.organization) causes.push(fieldRequired('spec.organization'));
    else if (spec.organization.toLowerCase() !== organization) {
      causes.push(fieldInvalid('spec.organization', `must equal the organization in metadata.name ("${organization}")`));
    }
    if (!spec.templateName) causes.push(fieldRequired('spec.templateName'));
    if (causes.length > 0) throw invalid(ref, causes);

    const coder = ctx.backend.coder;
    try {
      const org = await organizationByName(coder, organization, true).catch((err: unknown) => {
        throw isNotFound(err)
          ? invalid(ref, [fieldInvalid('spec.organization', `organization "${organization}" does not exist in Coder`)])
          : err;
      });
      const template = await coder.getTemplateByName(org.id, spec.templateName).catch((err: unknown) => {
        throw isNotFound(err)
          ? invalid(ref, [fieldInvalid('spec.templateName', `template "${spec.templateName}" does not exist in organization "${organization}"`)])
          : err;
      });
      if (ctx.dryRun) {
        const exists = await coder.getWorkspaceByOwnerAndName(owner, workspace).then(
          () => true,
          () => false,
        );
        if (exists) throw alreadyExists(ref);
        return { ...object, metadata: { ...object.metadata, namespace: ctx.backend.namespace } };
      }
      const created = await coder.createWorkspace(owner, {
        name: workspace,
        ...(spec.templateVersionID ? { template_version_id: spec.templateVersionID } : { template_id: template.id }),
        ...(spec.ttlMillis !== undefined ? { ttl_ms: spec.ttlMillis } : {}),
        ...(spec.autostartSchedule ? { autostart_schedule: spec.autostartSchedule } : {}),
      });
      if (spec.running === false) {
        // Coder starts every new workspace; the stop follows the first build, within this request.
        const first = await waitForWorkspaceBuild(coder, created.latest_build, { timeoutMs: this.#options.buildWaitMs });
        if (isJobActive(first)) {
          ctx.warnings.push(
            `spec.running is false, but the first build is still running after ${Math.round(this.#options.buildWaitMs / 1000)}s; apply spec.running: false again once it finishes`,
          );
        } else {
          // The workspace exists now: a refused stop is a warning, not a failed create.
          await coder.createWorkspaceBuild(created.id, { transition: 'stop' }).catch((err: unknown) => {
            ctx.warnings.push(`spec.running is false, but the stop build was refused (${toStatusError(err, ref, ctx.backend).message}); apply spec.running: false again`);
          });
        }
        return toCoderWorkspace(ctx.backend.namespace, await coder.getWorkspace(created.id));
      }
      return toCoderWorkspace(ctx.backend.namespace, created);
    } catch (err) {
      throw toStatusError(err, ref, ctx.backend);
    }
  }

  async update(ctx: StorageContext, current: CoderWorkspace, desired: CoderWorkspace): Promise<CoderWorkspace> {
    const name = current.metadata.name ?? '';
    const ref = resourceRef(this.info, name);
    const want = desired.spec;
    const have = current.spec;
    const causes: StatusCause[] = [];
    if (want.organization && want.organization.toLowerCase() !== have.organization) {
      causes.push(fieldInvalid('spec.organization', 'field is immutable'));
    }
    if (want.templateName && want.templateName.toLowerCase() !== have.templateName) {
      causes.push(fieldInvalid('spec.templateName', 'field is immutable'));
    }
    if (causes.length > 0) throw invalid(ref, causes);

    const running = want.running ?? have.running ?? true;
    const versionChanged = !!want.templateVersionID && want.templateVersionID !== have.templateVersionID;
    const ttlChanged = (want.ttlMillis ?? 0) !== (have.ttlMillis ?? 0);
    const autostartChanged = (want.autostartSchedule ?? '') !== (have.autostartSchedule ?? '');
    // A version change on a stopped workspace is recorded with a stop build, so the next
    // start uses it (Coder builds from the previous build's version).
    const transition: WorkspaceTransition | undefined =
      running !== have.running || versionChanged ? (running ? 'start' : 'stop') : undefined;
    if (ctx.dryRun) return { ...current, spec: { ...have, ...want, running } };
    if (!transition && !ttlChanged && !autostartChanged) return current;

    const coder = ctx.backend.coder;
    const id = current.metadata.uid ?? '';
    try {
      // Coder runs one build at a time. A transition behind a running build is refused, not
      // queued: an intent kept in this process would be lost on restart and could override
      // a newer one decided on another replica. The build goes first, so an update whose
      // build is refused (here, or by Coder when another build started meanwhile) changes nothing.
      if (transition) {
        const latest = await waitForWorkspaceBuild(coder, (await coder.getWorkspace(id)).latest_build, {
          timeoutMs: this.#options.buildWaitMs,
        });
        if (isJobActive(latest)) {
          throw conflict(ref, `a ${latest.transition} build is still running; apply the ${transition} again once it finishes`, BUILD_RETRY_AFTER_SECONDS);
        }
        // Coder answers 409 if another build started since (another replica, the Coder UI): theirs stands.
        await coder.createWorkspaceBuild(id, { transition, ...(versionChanged ? { template_version_id: want.templateVersionID } : {}) });
      }
      if (ttlChanged) await coder.updateWorkspaceTTL(id, want.ttlMillis ? want.ttlMillis : null);
      if (autostartChanged) await coder.updateWorkspaceAutostart(id, want.autostartSchedule);
      return toCoderWorkspace(ctx.backend.namespace, await coder.getWorkspace(id));
    } catch (err) {
      throw toStatusError(err, ref, ctx.backend);
    }
  }

  async delete(ctx: StorageContext, current: CoderWorkspace): Promise<DeleteResult<CoderWorkspace>> {
    const ref = resourceRef(this.info, current.metadata.name ?? '');
    if (ctx.dryRun) return { object: current, finished: true };
    const coder = ctx.backend.coder;
    const id = current.metadata.uid ?? '';
    // Deleting what is already being deleted is not an error in Kubernetes.
    if (current.metadata.deletionTimestamp) return { object: current, finished: false };
    try {
      const inFlight = await waitForWorkspaceBuild(coder, (await coder.getWorkspace(id)).latest_build, { timeoutMs: this.#options.buildWaitMs });
      if (isJobActive(inFlight)) {
        throw conflict(ref, `a ${inFlight.transition} build is still running; delete again once it finishes`, BUILD_RETRY_AFTER_SECONDS);
      }
      const build = await coder.createWorkspaceBuild(id, { transition: 'delete' });
      const done = await waitForWorkspaceBuild(coder, build, { timeoutMs: this.#options.buildWaitMs });
      if (done.job.status === 'succeeded') return { object: current, finished: true };
      if (!isJobActive(done)) {
        throw internalError(
          `Coder's delete build ${done.id} for workspace ${current.metadata.name ?? ''} ${done.job.status}: ${done.job.error ?? 'no error reported'}`,
        );
      }
      const now = await coder.getWorkspace(id, true);
      return { object: toCoderWorkspace(ctx.backend.namespace, now), finished: false };
    } catch (err) {
      throw toStatusError(err, ref, ctx.backend);
    }
  }
}
