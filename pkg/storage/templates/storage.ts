import { LRUCache } from 'lru-cache';
import pLimit from 'p-limit';
import { parseTemplateName } from '../../api/aggregation/v1alpha1/names.ts';
import { CODER_TEMPLATE, resourceRef } from '../../api/aggregation/v1alpha1/resources.ts';
import type { CoderTemplateSpec } from '../../api/aggregation/v1alpha1/schema.ts';
import type { CoderTemplate } from '../../api/aggregation/v1alpha1/types.ts';
import {
  alreadyExists,
  badRequest,
  conflict,
  notFound,
  fieldForbidden,
  fieldInvalid,
  fieldRequired,
  invalid,
  type ResourceRef,
  type StatusError,
} from '../../api/meta/status-error.ts';
import type { TableColumnDefinition } from '../../api/meta/types.ts';
import type { CoderClient } from '../../coder/client.ts';
import { isCoderApiError, isNotFound } from '../../coder/errors.ts';
import type { Template, TemplateVersion, UpdateTemplateMeta } from '../../coder/types.ts';
import type { Logger } from '../../logging/logger.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import type { BackgroundTasks } from '../background.ts';
import { isJobActive, waitForTemplateVersion } from '../build-wait.ts';
import { toStatusError } from '../coder-errors.ts';
import { currentCoder, type StorageContext } from '../context.ts';
import { organizationByName, withOrganization } from '../lookups.ts';
import { OBJECT_META_FIELDS, type DeleteResult, type Storage } from '../storage.ts';
import {
  DEFAULT_FILE_LIMITS,
  packTemplateFiles,
  sameFiles,
  unpackTemplateFiles,
  validateTemplateFiles,
  type FileLimits,
  type UnpackedFiles,
} from '../template-files.ts';
import { failureExcerpt, failureMessage } from './build-logs.ts';
import { toCoderTemplate } from './convert.ts';
import { TerminalVersionCache } from './version-cache.ts';

export interface TemplateStorageOptions {
  /** How long a request waits for a template build before it goes on in the background. */
  buildWaitMs: number;
  /** How long a background build is followed before it is given up on. */
  backgroundBuildTimeoutMs?: number;
  background: BackgroundTasks;
  logger: Logger;
  metrics?: Metrics;
  fileLimits?: FileLimits;
}

const VERSION_MESSAGE = 'Published by coder-k8s';

/** How long a failed version whose log said nothing (or could not be read) waits before it is read again. */
const UNREAD_LOG_TTL_MS = 30_000;

export class TemplateStorage implements Storage<CoderTemplate> {
  readonly info = CODER_TEMPLATE;
  readonly columns: readonly TableColumnDefinition[] = [
    { name: 'Name', type: 'string', format: 'name', description: 'Object name: <organization>.<template>.', priority: 0 },
    { name: 'Organization', type: 'string', format: '', description: 'Coder organization.', priority: 0 },
    { name: 'Active-Version', type: 'string', format: '', description: 'Name of the active template version.', priority: 0 },
    { name: 'Build', type: 'string', format: '', description: 'Build state of the newest version.', priority: 0 },
    { name: 'Age', type: 'date', format: '', description: 'Time since the template was created in Coder.', priority: 0 },
    { name: 'Display-Name', type: 'string', format: '', description: 'Display name in Coder.', priority: 1 },
    { name: 'Deprecated', type: 'boolean', format: '', description: 'Whether the template is deprecated.', priority: 1 },
    { name: 'ID', type: 'string', format: '', description: 'Coder template ID.', priority: 1 },
  ];

  readonly selectableFields = OBJECT_META_FIELDS;

  readonly #options: TemplateStorageOptions;
  readonly #limits: FileLimits;
  readonly #versions = new TerminalVersionCache();
  /** Versions this process follows in the background, to promote when their build succeeds. */
  readonly #promoting = new Set<string>();
  /** Why a failed version failed; a finished job's log never changes. */
  readonly #failures = new LRUCache<string, readonly string[]>({ max: 1000 });
  readonly #archives = new LRUCache<string, UnpackedFiles>({
    maxSize: 64 * 1024 * 1024,
    sizeCalculation: (u) => Math.max(1, Object.values(u.files).reduce((n, f) => n + f.length, 0)),
  });

  constructor(options: TemplateStorageOptions) {
    this.#options = options;
    this.#limits = options.fileLimits ?? DEFAULT_FILE_LIMITS;
  }

  row(t: CoderTemplate): unknown[] {
    const s = t.status ?? {};
    const build = s.latestVersionBuild ?? s.activeVersionBuild;
    return [
      t.metadata.name,
      s.organizationName ?? t.spec.organization,
      s.activeVersionBuild?.versionName ?? s.activeVersionID ?? '',
      build?.status ?? '',
      t.metadata.creationTimestamp ?? '',
      t.spec.displayName ?? '',
      s.deprecated ?? false,
      s.id ?? '',
    ];
  }

  /** Without spec.files, status.omittedFiles, status.latestVersionBuild and the conditions that need the newest version. */
  listView(t: CoderTemplate): CoderTemplate {
    const { files: _files, ...spec } = t.spec;
    const { omittedFiles: _omitted, latestVersionBuild: _latest, conditions, ...status } = t.status ?? {};
    return { ...t, spec, status: { ...status, ...(conditions ? { conditions: conditions.filter((c) => c.type === 'Ready') } : {}) } };
  }

  async get(ctx: StorageContext, name: string): Promise<CoderTemplate> {
    const ref = resourceRef(this.info, name);
    const { organization, template } = parseTemplateName(name);
    const coder = ctx.backend.coder;
    try {
      const t = await withOrganization(coder, organization, (org) => coder.getTemplateByName(org.id, template));
      // Coder resolves aliases ("default" org); an object is only found under its own name.
      if (t.organization_name.toLowerCase() !== organization || t.name.toLowerCase() !== template) throw notFound(ref);
      return await this.#assemble(ctx, t);
    } catch (err) {
      throw toStatusError(err, ref, ctx.backend);
    }
  }

  async list(ctx: StorageContext): Promise<CoderTemplate[]> {
    const coder = ctx.backend.coder;
    try {
      const templates = await coder.listTemplates();
      const limit = pLimit(8);
      return await Promise.all(
        templates.map((t) =>
          limit(async () => {
            const active = await this.#version(coder, t.active_version_id);
            return toCoderTemplate(ctx.backend.namespace, t, { active, failures: await this.#failuresOf(coder, [active]) });
          }),
        ),
      );
    } catch (err) {
      throw toStatusError(err, resourceRef(this.info), ctx.backend);
    }
  }

  async create(ctx: StorageContext, object: CoderTemplate): Promise<CoderTemplate> {
    const name = object.metadata.name ?? '';
    const ref = resourceRef(this.info, name);
    const { organization, template } = parseTemplateName(name);
    const spec = object.spec;
    const causes = [];
    if (!spec.organization) causes.push(fieldRequired('spec.organization'));
    else if (spec.organization.toLowerCase() !== organization) {
      causes.push(fieldInvalid('spec.organization', `must equal the organization in metadata.name ("${organization}")`));
    }
    if (!spec.files && !spec.versionID) {
      causes.push(fieldRequired('spec.files', 'one of spec.files or spec.versionID is required'));
    }
    if (spec.files && spec.versionID) {
      causes.push(fieldForbidden('spec.versionID', 'set either spec.files or spec.versionID, not both'));
    }
    if (causes.length > 0) throw invalid(ref, causes);
    const files = spec.files ? validateTemplateFiles(spec.files, this.#limits) : undefined;

    const coder = ctx.backend.coder;
    try {
      const org = await organizationByName(coder, organization, true).catch((err: unknown) => {
        throw isNotFound(err)
          ? invalid(ref, [fieldInvalid('spec.organization', `organization "${organization}" does not exist in Coder`)])
          : err;
      });
      if (ctx.dryRun) return await this.#dryRunCreate(ctx, ref, org.id, template, object);

      let versionId = spec.versionID;
      if (files) {
        const version = await this.#build(ctx, ref, org.id, files, undefined);
        versionId = version.id;
      }
      const created = await coder
        .createTemplate(org.id, { name: template, template_version_id: versionId ?? '', ...metaFields(spec) })
        .catch((err: unknown) => {
          // Coder's 404 here is about the version, not the template being created.
          if (spec.versionID && isNotFound(err)) {
            throw invalid(ref, [fieldInvalid('spec.versionID', `template version "${spec.versionID}" does not exist in Coder`)]);
          }
          throw err;
        });
      return await this.#assemble(ctx, created);
    } catch (err) {
      throw toStatusError(err, ref, ctx.backend);
    }
  }

  async update(ctx: StorageContext, current: CoderTemplate, desired: CoderTemplate): Promise<CoderTemplate> {
    const name = current.metadata.name ?? '';
    const ref = resourceRef(this.info, name);
    // GET, edit, merge patches and apply all carry the current files: only a real change
    // publishes a version, and only changed files are held to the limits.
    const filesChanged = desired.spec.files !== undefined && !sameFiles(current.spec.files ?? {}, desired.spec.files);
    const causes = [];
    if (desired.spec.organization && desired.spec.organization.toLowerCase() !== current.spec.organization) {
      causes.push(fieldInvalid('spec.organization', 'field is immutable'));
    }
    if (desired.spec.versionID && desired.spec.versionID !== current.spec.versionID && !filesChanged) {
      causes.push(fieldInvalid('spec.versionID', 'is read-only after create; change spec.files to publish and promote a new version'));
    }
    const omitted = current.status?.omittedFiles ?? [];
    if (filesChanged && omitted.length > 0) {
      causes.push(
        fieldForbidden(
          'spec.files',
          `the active version has files spec.files cannot carry (${omitted.join(', ')}); publishing from spec.files would drop them, so publish this template with the Coder CLI`,
        ),
      );
    }
    if (causes.length > 0) throw invalid(ref, causes);
    const files = filesChanged && desired.spec.files ? validateTemplateFiles(desired.spec.files, this.#limits) : undefined;
    const meta = changedMeta(current.spec, desired.spec);
    // Nothing to change: the object is what it was (and keeps its resourceVersion).
    if (!files && !meta) return current;
    if (ctx.dryRun) {
      return { ...current, spec: { ...current.spec, ...pickMeta(desired.spec), ...(files ? { files: Object.fromEntries(files) } : {}) } };
    }

    const coder = ctx.backend.coder;
    const id = current.metadata.uid ?? '';
    try {
      // The version first: a failed build must leave the template untouched.
      const live = await coder.getTemplate(id);
      if (files) {
        // Applying files again while the version built from them is still building (or built
        // but not yet promoted, e.g. by a replica that stopped) follows that version instead
        // of publishing another.
        const unpublished = await this.#unpublished(coder, live, files);
        let version: TemplateVersion;
        if (unpublished) {
          version = await this.#follow(ctx, ref, unpublished, id);
        } else {
          const active = await this.#version(coder, live.active_version_id);
          const { modes } = await this.#files(coder, active.job.file_id);
          version = await this.#build(ctx, ref, live.organization_id, files, id, modes);
        }
        if (!isJobActive(version)) await this.#promote(coder, id, version.id);
      }
      // Promotion changes only the active version, so `live` still holds the settings to resend.
      const patched = meta ? await coder.updateTemplateMeta(id, { ...fullMeta(live), ...meta }) : undefined;
      const fresh = patched ?? (await coder.getTemplate(id));
      return await this.#assemble(ctx, fresh);
    } catch (err) {
      throw toStatusError(err, ref, ctx.backend);
    }
  }

  async delete(ctx: StorageContext, current: CoderTemplate): Promise<DeleteResult<CoderTemplate>> {
    const ref = resourceRef(this.info, current.metadata.name ?? '');
    if (ctx.dryRun) return { object: current, finished: true };
    try {
      await ctx.backend.coder.deleteTemplate(current.metadata.uid ?? '').catch((err: unknown) => {
        // Refused because workspaces still use it: a conflict with other objects' state.
        if (isCoderApiError(err) && err.statusCode === 400 && /workspaces must be deleted/i.test(err.coderMessage)) {
          throw conflict(ref, err.describe());
        }
        throw err;
      });
      return { object: current, finished: true };
    } catch (err) {
      throw toStatusError(err, ref, ctx.backend);
    }
  }

  /** The full object GET returns: template, active version's build and files, newest version's build. */
  async #assemble(ctx: StorageContext, t: Template): Promise<CoderTemplate> {
    const coder = ctx.backend.coder;
    const [active, versions] = await Promise.all([this.#version(coder, t.active_version_id), coder.listTemplateVersions(t.id)]);
    const unpacked = await this.#files(coder, active.job.file_id);
    if (unpacked.skipped.length > 0) {
      ctx.warnings.push(`spec.files omits non-UTF-8 files of the active version: ${unpacked.skipped.join(', ')}`);
    }
    const latest = newest(versions);
    return toCoderTemplate(ctx.backend.namespace, t, {
      active,
      latest,
      files: unpacked.files,
      omittedFiles: unpacked.skipped,
      failures: await this.#failuresOf(coder, latest ? [active, latest] : [active]),
    });
  }

  /**
   * The end of each failed version's log (Coder's job.error names only the step that failed),
   * read once per version. Without the log (Coder failing now) a version reports job.error alone,
   * and the log is asked for again after UNREAD_LOG_TTL_MS, not on every read of the template.
   */
  async #failuresOf(coder: CoderClient, versions: readonly TemplateVersion[]): Promise<Map<string, readonly string[]>> {
    const failures = new Map<string, readonly string[]>();
    for (const version of versions) {
      if (version.job.status !== 'failed' || failures.has(version.id)) continue;
      const key = `${coder.baseUrl} ${version.id}`;
      let excerpt = this.#failures.get(key);
      if (!excerpt) {
        const logs = await coder.templateVersionLogs(version.id).catch(() => undefined);
        excerpt = logs ? failureExcerpt(logs) : [];
        // An empty excerpt may be a log read before its last lines landed (or not read at all).
        this.#failures.set(key, excerpt, excerpt.length > 0 ? {} : { ttl: UNREAD_LOG_TTL_MS });
      }
      failures.set(version.id, excerpt);
    }
    return failures;
  }

  /** A version's unpacked archive; file IDs never change content, so they are cached. */
  async #files(coder: CoderClient, fileId: string): Promise<UnpackedFiles> {
    const key = `${coder.baseUrl} ${fileId}`;
    const hit = this.#archives.get(key);
    if (hit) return hit;
    const unpacked = await unpackTemplateFiles(await coder.downloadFile(fileId));
    this.#archives.set(key, unpacked);
    return unpacked;
  }

  async #version(coder: CoderClient, id: string): Promise<TemplateVersion> {
    const cached = this.#versions.get(coder, id);
    if (cached) return cached;
    const version = await coder.getTemplateVersion(id);
    this.#versions.put(coder, version);
    return version;
  }

  /**
   * Uploads the files, creates a version and waits (bounded) for its build. A failed build
   * is a 400 carrying Coder's build error. A build still running at the deadline goes on in
   * the background and is promoted when it succeeds (only when it belongs to a template).
   */
  async #build(
    ctx: StorageContext,
    ref: ResourceRef,
    organizationId: string,
    files: Map<string, string>,
    templateId: string | undefined,
    modes: Record<string, number> = {},
  ): Promise<TemplateVersion> {
    const coder = ctx.backend.coder;
    const started = performance.now();
    const archive = await packTemplateFiles(files, modes);
    const upload = await coder.uploadFile(archive, 'application/x-tar');
    const created = await coder.createTemplateVersion(organizationId, {
      storage_method: 'file',
      file_id: upload.hash,
      provisioner: 'terraform',
      tags: {},
      message: VERSION_MESSAGE,
      ...(templateId ? { template_id: templateId } : {}),
    });
    return this.#follow(ctx, ref, created, templateId, started);
  }

  /**
   * The newest version of the template when it is not the active one, has not failed, and
   * was built from exactly these files.
   */
  async #unpublished(coder: CoderClient, live: Template, files: Map<string, string>): Promise<TemplateVersion | undefined> {
    const latest = newest(await coder.listTemplateVersions(live.id));
    if (!latest || latest.id === live.active_version_id) return undefined;
    if (latest.job.status === 'failed' || latest.job.status === 'canceled' || latest.job.status === 'canceling') return undefined;
    const unpacked = await this.#files(coder, latest.job.file_id);
    return unpacked.skipped.length === 0 && sameFiles(unpacked.files, files) ? latest : undefined;
  }

  /** Waits (bounded) for a version's build, as #build describes; `publishedAt` when this request created it (metrics). */
  async #follow(ctx: StorageContext, ref: ResourceRef, pending: TemplateVersion, templateId: string | undefined, publishedAt?: number): Promise<TemplateVersion> {
    const coder = ctx.backend.coder;
    const version = await waitForTemplateVersion(coder, pending, { timeoutMs: this.#options.buildWaitMs });
    const result = isJobActive(version) ? 'background' : version.job.status;
    if (publishedAt !== undefined) {
      this.#options.metrics?.templateBuilds.inc({ result });
      this.#options.metrics?.templateBuildWait.observe({ result }, (performance.now() - publishedAt) / 1000);
    }
    if (version.job.status === 'failed' || version.job.status === 'canceled') {
      throw buildFailed(ref, version, (await this.#failuresOf(coder, [version])).get(version.id) ?? []);
    }
    if (isJobActive(version) && templateId) this.#promoteInBackground(ctx, templateId, version);
    return version;
  }

  #promoteInBackground(ctx: StorageContext, templateId: string, version: TemplateVersion): void {
    // A re-apply that follows a version this process already follows adds no second follower.
    if (this.#promoting.has(version.id)) return;
    this.#promoting.add(version.id);
    const { namespace } = ctx.backend;
    const coder = currentCoder(ctx);
    const logger = this.#options.logger;
    this.#options.background.run(`promote template version ${version.id}`, async (signal) => {
      const done = await waitForTemplateVersion(coder, version, {
        timeoutMs: this.#options.backgroundBuildTimeoutMs ?? 30 * 60_000,
        signal,
        maxDelayMs: 5000,
        tolerateErrors: true,
      });
      this.#options.metrics?.templateBuilds.inc({ result: `background_${done.job.status}` });
      if (done.job.status !== 'succeeded') {
        logger.warn('background template build did not succeed', { namespace, templateId, versionId: done.id, status: done.job.status });
        return;
      }
      // A newer version published meanwhile wins; promoting this one would roll it back.
      const latest = newest(await coder().listTemplateVersions(templateId));
      if (latest && latest.id !== done.id) return;
      await this.#promote(coder(), templateId, done.id);
      logger.info('promoted template version after background build', { namespace, templateId, versionId: done.id });
    }, () => this.#promoting.delete(version.id));
  }

  async #promote(coder: CoderClient, templateId: string, versionId: string): Promise<void> {
    await coder.updateActiveTemplateVersion(templateId, versionId);
    const after = await coder.getTemplate(templateId);
    if (after.active_version_id !== versionId) {
      throw new Error(`promotion of template version ${versionId} did not take effect (active is ${after.active_version_id})`);
    }
  }

  async #dryRunCreate(
    ctx: StorageContext,
    ref: ResourceRef,
    organizationId: string,
    template: string,
    object: CoderTemplate,
  ): Promise<CoderTemplate> {
    const exists = await ctx.backend.coder.getTemplateByName(organizationId, template).then(
      () => true,
      (err: unknown) => {
        if (isNotFound(err)) return false;
        throw err;
      },
    );
    if (exists) throw alreadyExists(ref);
    return { ...object, metadata: { ...object.metadata, namespace: ctx.backend.namespace } };
  }
}

function newest(versions: TemplateVersion[]): TemplateVersion | undefined {
  let best: TemplateVersion | undefined;
  for (const v of versions) if (!best || Date.parse(v.created_at) > Date.parse(best.created_at)) best = v;
  return best;
}

type MetaSpec = Pick<CoderTemplateSpec, 'displayName' | 'description' | 'icon'>;

function pickMeta(spec: CoderTemplateSpec): MetaSpec {
  return { displayName: spec.displayName ?? '', description: spec.description ?? '', icon: spec.icon ?? '' };
}

function metaFields(spec: CoderTemplateSpec): { display_name?: string; description?: string; icon?: string } {
  return {
    ...(spec.displayName ? { display_name: spec.displayName } : {}),
    ...(spec.description ? { description: spec.description } : {}),
    ...(spec.icon ? { icon: spec.icon } : {}),
  };
}

/** Metadata fields that differ; PUT semantics: an omitted field means empty. */
function changedMeta(current: CoderTemplateSpec, desired: CoderTemplateSpec): UpdateTemplateMeta | undefined {
  const want = pickMeta(desired);
  const have = pickMeta(current);
  const out: UpdateTemplateMeta = {};
  if (want.displayName !== have.displayName) out.display_name = want.displayName ?? '';
  if (want.description !== have.description) out.description = want.description ?? '';
  if (want.icon !== have.icon) out.icon = want.icon ?? '';
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Coder v2.30 resets omitted non-pointer fields, so every PATCH carries the full current state. */
function fullMeta(t: Template): UpdateTemplateMeta {
  return {
    name: t.name,
    display_name: t.display_name,
    description: t.description,
    icon: t.icon,
    default_ttl_ms: t.default_ttl_ms,
    activity_bump_ms: t.activity_bump_ms,
    autostop_requirement: t.autostop_requirement,
    autostart_requirement: t.autostart_requirement,
    allow_user_autostart: t.allow_user_autostart,
    allow_user_autostop: t.allow_user_autostop,
    allow_user_cancel_workspace_jobs: t.allow_user_cancel_workspace_jobs,
    failure_ttl_ms: t.failure_ttl_ms,
    time_til_dormant_ms: t.time_til_dormant_ms,
    time_til_dormant_autodelete_ms: t.time_til_dormant_autodelete_ms,
    require_active_version: t.require_active_version,
    max_port_share_level: t.max_port_share_level,
    use_classic_parameter_flow: t.use_classic_parameter_flow,
  };
}

/**
 * A 400 for a version whose build failed, with the end of its log: Coder's job.error names only
 * the step that failed; what was wrong (Terraform's diagnostic) is in the log.
 */
function buildFailed(ref: ResourceRef, version: TemplateVersion, excerpt: readonly string[]): StatusError {
  const detail = failureMessage(version.job.error ?? 'no error reported', excerpt);
  return badRequest(`${ref.resource}.${ref.group} "${ref.name ?? ''}": template version ${version.name} build ${version.job.status}: ${detail}`, [
    { type: 'FieldValueInvalid', field: 'spec.files', message: excerpt.length > 0 ? detail : (version.job.error ?? version.job.status) },
  ]);
}
