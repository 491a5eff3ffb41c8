// The in-memory "database" of the fake. Records hold only stored columns;
// derived fields (names of related objects, statuses) are computed when a
// record is rendered (views.ts), as coderd does with its SQL joins.
import { createHash, randomUUID } from 'node:crypto';
import type {
  Organization,
  ProvisionerJobLog,
  ProvisionerJobStatus,
  Template,
  Time,
  User,
  WorkspaceStatus,
  WorkspaceTransition,
} from '../../../pkg/coder/types.ts';
import { hashSecret, newToken, splitToken } from './random.ts';
import { isUUID } from './validate.ts';

export function now(): Time {
  return new Date().toISOString();
}

export interface UserRecord {
  id: string;
  username: string;
  name: string;
  email: string;
  avatar_url: string;
  /** Plain text: the fake only compares it at login. */
  password: string | null;
  created_at: Time;
  updated_at: Time;
  last_seen_at: Time;
  status: User['status'];
  login_type: User['login_type'];
  organization_ids: string[];
  /** Site roles (`owner`, `user-admin`, `template-admin`, `auditor`); `member` is implicit. */
  roles: string[];
}

export interface ApiKeyRecord {
  id: string;
  secret_hash: string;
  user_id: string;
  created_at: Time;
  updated_at: Time;
  expires_at: Time;
  last_used: Time;
  login_type: 'password' | 'token';
  token_name: string;
  lifetime_seconds: number;
  scopes: string[];
  allow_list: string[];
}

export interface FileRecord {
  id: string;
  /** Hex SHA-256 of `data`; duplicates are detected per uploader. */
  hash: string;
  created_by: string;
  created_at: Time;
  mimetype: string;
  data: Buffer;
}

/** Stored template columns; `deleted` templates are hidden but kept (soft delete). */
export type TemplateRecord = Omit<
  Template,
  | 'organization_name'
  | 'organization_display_name'
  | 'organization_icon'
  | 'active_user_count'
  | 'build_time_stats'
  | 'deprecated'
  | 'created_by_name'
> & { deleted: boolean };

export interface VersionRecord {
  id: string;
  template_id: string | null;
  organization_id: string;
  created_at: Time;
  updated_at: Time;
  name: string;
  message: string;
  job_id: string;
  readme: string;
  created_by: string;
  archived: boolean;
  /** Set when the archive contains the `coder-fake:fail-build` marker: every build with this version fails. */
  build_failure: PlannedFailure | null;
  /** Set when the archive contains the `coder-fake:slow-build` marker: builds run for a minute unless canceled. */
  slow_build?: boolean;
}

/** Why a job will fail when it completes: `job.error`, and the source line its log quotes (fail markers). */
export interface PlannedFailure {
  error: string;
  source?: { file: string; lineNo: number; line: string };
}

export type JobType = 'template_version_import' | 'workspace_build';

export interface JobRecord {
  id: string;
  created_at: Time;
  updated_at: Time;
  started_at: Time | null;
  completed_at: Time | null;
  canceled_at: Time | null;
  error: string;
  file_id: string;
  tags: Record<string, string>;
  organization_id: string;
  initiator_id: string;
  provisioner: 'terraform' | 'echo';
  type: JobType;
  version_id: string | null;
  build_id: string | null;
  /** How the job will fail when it completes (fail markers); null = succeed. */
  planned_failure: PlannedFailure | null;
  /** Runs for a minute instead of the configured running time (the slow-build marker). */
  slow?: boolean;
}

export interface WorkspaceRecord {
  id: string;
  created_at: Time;
  updated_at: Time;
  owner_id: string;
  organization_id: string;
  template_id: string;
  name: string;
  autostart_schedule: string | null;
  ttl_ms: number | null;
  last_used_at: Time;
  deleted: boolean;
  automatic_updates: 'always' | 'never';
  favorite: boolean;
  dormant_at: Time | null;
  deleting_at: Time | null;
}

export interface BuildRecord {
  id: string;
  created_at: Time;
  updated_at: Time;
  workspace_id: string;
  template_version_id: string;
  build_number: number;
  transition: WorkspaceTransition;
  initiator_id: string;
  job_id: string;
  reason: string;
  deadline: Time | null;
  max_deadline: Time | null;
}

export interface LicenseRecord {
  id: number;
  uuid: string;
  uploaded_at: Time;
  claims: Record<string, unknown>;
}

/** Job status derivation of coderd's provisioner_jobs.job_status computed column. */
export function jobStatus(job: JobRecord): ProvisionerJobStatus {
  if (job.completed_at !== null) {
    if (job.error !== '') return 'failed';
    if (job.canceled_at !== null) return 'canceled';
    return 'succeeded';
  }
  if (job.error !== '') return 'failed';
  if (job.canceled_at !== null) return 'canceling';
  if (job.started_at === null) return 'pending';
  return 'running';
}

export function isActive(status: ProvisionerJobStatus): boolean {
  return status === 'pending' || status === 'running' || status === 'canceling';
}

/** codersdk ConvertWorkspaceStatus: job status × transition. */
export function workspaceStatus(status: ProvisionerJobStatus, transition: WorkspaceTransition): WorkspaceStatus {
  switch (status) {
    case 'pending':
      return 'pending';
    case 'running':
      return transition === 'start' ? 'starting' : transition === 'stop' ? 'stopping' : 'deleting';
    case 'succeeded':
      return transition === 'start' ? 'running' : transition === 'stop' ? 'stopped' : 'deleted';
    case 'canceling':
      return 'canceling';
    case 'canceled':
      return 'canceled';
    case 'failed':
    case 'unknown':
      return 'failed';
  }
}

const DEFAULT_TAGS = { scope: 'organization', owner: '' };

export interface NewUser {
  username: string;
  email: string;
  name?: string;
  password?: string | null;
  login_type?: User['login_type'];
  status?: User['status'];
  roles?: string[];
  organization_ids?: string[];
}

export interface NewVersion {
  organizationId: string;
  templateId: string | null;
  name: string;
  message: string;
  fileId: string;
  createdBy: string;
  provisioner: 'terraform' | 'echo';
  tags: Record<string, string> | null;
  readme: string;
  importFailure: PlannedFailure | null;
  buildFailure: PlannedFailure | null;
  slowBuild?: boolean;
}

export type NewTemplate = Partial<Omit<TemplateRecord, 'id' | 'created_at' | 'updated_at' | 'deleted'>> &
  Pick<TemplateRecord, 'organization_id' | 'name' | 'active_version_id' | 'created_by_id' | 'provisioner'>;

/**
 * A table keyed by id. It is a Map for the fake's lookups, plus the array
 * helpers tests reach for (`state.templates.find((t) => t.name === 'docker')`).
 */
export class Table<K, V> extends Map<K, V> {
  find(predicate: (value: V) => boolean): V | undefined {
    for (const value of this.values()) if (predicate(value)) return value;
    return undefined;
  }

  filter(predicate: (value: V) => boolean): V[] {
    return this.list().filter(predicate);
  }

  some(predicate: (value: V) => boolean): boolean {
    return this.find(predicate) !== undefined;
  }

  /** Values in insertion (creation) order. */
  list(): V[] {
    return [...this.values()];
  }
}

/** The whole mutable state of one fake deployment. */
export class State {
  deploymentId = randomUUID();
  /** Which Coder build the fake answers as (startFakeCoder's `edition`); kept across reset(). */
  edition: 'agpl' | 'enterprise' = 'enterprise';
  /** Concurrent provisioner jobs (startFakeCoder's `provisionerDaemons`); Infinity = never queue. */
  provisionerDaemons = Infinity;
  /** Id of the built-in provisioner daemon that "runs" every job. */
  readonly provisionerId = randomUUID();
  readonly orgs = new Table<string, Organization>();
  readonly users = new Table<string, UserRecord>();
  readonly apiKeys = new Table<string, ApiKeyRecord>();
  readonly files = new Table<string, FileRecord>();
  readonly templates = new Table<string, TemplateRecord>();
  readonly versions = new Table<string, VersionRecord>();
  readonly jobs = new Table<string, JobRecord>();
  readonly workspaces = new Table<string, WorkspaceRecord>();
  readonly builds = new Table<string, BuildRecord>();
  readonly licenses = new Table<number, LicenseRecord>();
  /** Provisioner job logs by job ID; IDs are one sequence across jobs, like coderd's. */
  readonly jobLogs = new Map<string, ProvisionerJobLog[]>();
  /** Pending jobs waiting for a free provisioner daemon, oldest first (queue_position is 1 + the index). */
  readonly jobQueue: string[] = [];
  private nextLicenseId = 1;
  private nextLogId = 1;
  /** Workspace ID → its newest build: listing thousands of workspaces must not scan every build for each. */
  private readonly latestBuilds = new Map<string, BuildRecord>();

  clear(): void {
    this.deploymentId = randomUUID();
    for (const map of [this.orgs, this.users, this.apiKeys, this.files, this.templates, this.versions, this.jobs, this.workspaces, this.builds]) {
      map.clear();
    }
    this.licenses.clear();
    this.latestBuilds.clear();
    this.jobLogs.clear();
    this.jobQueue.length = 0;
    this.nextLicenseId = 1;
    this.nextLogId = 1;
  }

  // ---- organizations ----

  createOrg(input: { name: string; display_name?: string; description?: string; icon?: string; is_default?: boolean }): Organization {
    const t = now();
    const org: Organization = {
      id: randomUUID(),
      name: input.name,
      display_name: input.display_name ?? input.name,
      icon: input.icon ?? '',
      description: input.description ?? '',
      created_at: t,
      updated_at: t,
      is_default: input.is_default ?? false,
    };
    this.orgs.set(org.id, org);
    return org;
  }

  defaultOrg(): Organization | undefined {
    return this.orgs.find((o) => o.is_default);
  }

  /** `{organization}` path forms: uuid, name, or `default`. */
  orgByParam(param: string): Organization | undefined {
    if (isUUID(param)) return this.orgs.get(param.toLowerCase());
    if (param === 'default') return this.defaultOrg();
    const lower = param.toLowerCase();
    return this.orgs.find((o) => o.name.toLowerCase() === lower);
  }

  // ---- users and keys ----

  createUser(input: NewUser): UserRecord {
    const t = now();
    const user: UserRecord = {
      id: randomUUID(),
      username: input.username,
      name: input.name ?? '',
      email: input.email,
      avatar_url: '',
      password: input.password ?? null,
      created_at: t,
      updated_at: t,
      last_seen_at: '0001-01-01T00:00:00Z',
      status: input.status ?? 'active',
      login_type: input.login_type ?? 'password',
      organization_ids: [...(input.organization_ids ?? [])],
      roles: [...(input.roles ?? [])],
    };
    this.users.set(user.id, user);
    return user;
  }

  userByUsername(username: string): UserRecord | undefined {
    const lower = username.toLowerCase();
    return this.users.find((u) => u.username.toLowerCase() === lower);
  }

  userByEmail(email: string): UserRecord | undefined {
    const lower = email.toLowerCase();
    return this.users.find((u) => u.email.toLowerCase() === lower);
  }

  /** `{user}` path forms: `me`, uuid, or username. */
  userByParam(param: string, me: UserRecord | null): UserRecord | undefined {
    if (param === 'me') return me ?? undefined;
    if (isUUID(param)) return this.users.get(param.toLowerCase());
    return this.userByUsername(param);
  }

  /** Stores an API key; `token` fixes the key (e.g. a configured admin token). */
  createApiKey(
    userId: string,
    opts: { loginType: 'password' | 'token'; lifetimeSeconds: number; tokenName: string; scopes?: string[]; token?: string },
  ): { key: ApiKeyRecord; token: string } {
    let id: string;
    let secret: string;
    let token: string;
    if (opts.token !== undefined) {
      const parts = splitToken(opts.token);
      if (!parts) throw new Error('API token must look like <10 alphanumerics>-<22 alphanumerics>');
      ({ id, secret } = parts);
      token = opts.token;
    } else {
      ({ id, secret, token } = newToken());
    }
    const t = new Date();
    const key: ApiKeyRecord = {
      id,
      secret_hash: hashSecret(secret),
      user_id: userId,
      created_at: t.toISOString(),
      updated_at: t.toISOString(),
      expires_at: new Date(t.getTime() + opts.lifetimeSeconds * 1000).toISOString(),
      last_used: t.toISOString(),
      login_type: opts.loginType,
      token_name: opts.tokenName,
      lifetime_seconds: opts.lifetimeSeconds,
      scopes: opts.scopes ?? ['coder:all'],
      allow_list: ['*:*'],
    };
    this.apiKeys.set(id, key);
    return { key, token };
  }

  // ---- files ----

  /** Stores bytes; a same-hash upload by the same user returns the existing file. */
  createFile(userId: string, mimetype: string, data: Buffer): { file: FileRecord; created: boolean } {
    const hash = createHash('sha256').update(data).digest('hex');
    const existing = this.files.find((f) => f.hash === hash && f.created_by === userId);
    if (existing) return { file: existing, created: false };
    const file: FileRecord = { id: randomUUID(), hash, created_by: userId, created_at: now(), mimetype, data };
    this.files.set(file.id, file);
    return { file, created: true };
  }

  // ---- jobs, versions, templates ----

  createJob(input: {
    type: JobType;
    organizationId: string;
    initiatorId: string;
    fileId: string;
    provisioner: 'terraform' | 'echo';
    tags: Record<string, string>;
    plannedFailure: PlannedFailure | null;
  }): JobRecord {
    const t = now();
    const job: JobRecord = {
      id: randomUUID(),
      created_at: t,
      updated_at: t,
      started_at: null,
      completed_at: null,
      canceled_at: null,
      error: '',
      file_id: input.fileId,
      tags: input.tags,
      organization_id: input.organizationId,
      initiator_id: input.initiatorId,
      provisioner: input.provisioner,
      type: input.type,
      version_id: null,
      build_id: null,
      planned_failure: input.plannedFailure,
    };
    this.jobs.set(job.id, job);
    return job;
  }

  /** Appends lines to a job's log, stamped now. */
  appendLogs(jobId: string, lines: readonly Omit<ProvisionerJobLog, 'id' | 'created_at'>[]): void {
    if (lines.length === 0) return;
    const log = this.jobLogs.get(jobId) ?? [];
    const t = now();
    for (const line of lines) log.push({ id: this.nextLogId++, created_at: t, ...line });
    this.jobLogs.set(jobId, log);
  }

  /** Marks a job finished right away (seeding). */
  finishJob(job: JobRecord, error: string | null): void {
    const t = now();
    job.started_at = t;
    job.completed_at = t;
    job.updated_at = t;
    job.error = error ?? '';
  }

  createVersion(input: NewVersion): VersionRecord {
    const tags = normalizeTags(input.tags, input.createdBy);
    const job = this.createJob({
      type: 'template_version_import',
      organizationId: input.organizationId,
      initiatorId: input.createdBy,
      fileId: input.fileId,
      provisioner: input.provisioner,
      tags,
      plannedFailure: input.importFailure,
    });
    const t = job.created_at;
    const version: VersionRecord = {
      id: randomUUID(),
      template_id: input.templateId,
      organization_id: input.organizationId,
      created_at: t,
      updated_at: t,
      name: input.name,
      message: input.message,
      job_id: job.id,
      readme: input.readme,
      created_by: input.createdBy,
      archived: false,
      build_failure: input.buildFailure,
      slow_build: input.slowBuild ?? false,
    };
    job.version_id = version.id;
    this.versions.set(version.id, version);
    return version;
  }

  jobOf(record: { job_id: string }): JobRecord {
    const job = this.jobs.get(record.job_id);
    if (!job) throw new Error(`fake coderd: job ${record.job_id} is missing`);
    return job;
  }

  createTemplate(input: NewTemplate): TemplateRecord {
    const t = now();
    const template: TemplateRecord = {
      id: randomUUID(),
      created_at: t,
      updated_at: t,
      display_name: '',
      description: '',
      icon: '',
      deprecation_message: '',
      default_ttl_ms: 0,
      activity_bump_ms: 3_600_000,
      autostop_requirement: { days_of_week: [], weeks: 1 },
      autostart_requirement: { days_of_week: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] },
      allow_user_autostart: true,
      allow_user_autostop: true,
      allow_user_cancel_workspace_jobs: false,
      failure_ttl_ms: 0,
      time_til_dormant_ms: 0,
      time_til_dormant_autodelete_ms: 0,
      require_active_version: false,
      max_port_share_level: 'owner',
      cors_behavior: 'simple',
      use_classic_parameter_flow: false,
      ...input,
      deleted: false,
    };
    this.templates.set(template.id, template);
    const version = this.versions.get(input.active_version_id);
    if (version) version.template_id = template.id;
    return template;
  }

  /** Live (non-deleted) template by org and case-insensitive name. */
  templateByName(orgId: string, name: string): TemplateRecord | undefined {
    const lower = name.toLowerCase();
    return this.templates.find((t) => !t.deleted && t.organization_id === orgId && t.name.toLowerCase() === lower);
  }

  versionsOf(templateId: string): VersionRecord[] {
    return this.versions.filter((v) => v.template_id === templateId);
  }

  // ---- workspaces and builds ----

  createWorkspace(input: {
    ownerId: string;
    organizationId: string;
    templateId: string;
    name: string;
    autostartSchedule: string | null;
    ttlMs: number | null;
    automaticUpdates: 'always' | 'never';
  }): WorkspaceRecord {
    const t = now();
    const workspace: WorkspaceRecord = {
      id: randomUUID(),
      created_at: t,
      updated_at: t,
      owner_id: input.ownerId,
      organization_id: input.organizationId,
      template_id: input.templateId,
      name: input.name,
      autostart_schedule: input.autostartSchedule,
      ttl_ms: input.ttlMs,
      last_used_at: t,
      deleted: false,
      automatic_updates: input.automaticUpdates,
      favorite: false,
      dormant_at: null,
      deleting_at: null,
    };
    this.workspaces.set(workspace.id, workspace);
    return workspace;
  }

  /** Queues a build (and its job) on top of the workspace's latest build. */
  createBuild(workspace: WorkspaceRecord, input: { versionId: string; transition: WorkspaceTransition; initiatorId: string; reason: string }): BuildRecord {
    const version = this.versions.get(input.versionId);
    if (!version) throw new Error(`fake coderd: version ${input.versionId} is missing`);
    const versionJob = this.jobOf(version);
    const template = this.templates.get(workspace.template_id);
    const job = this.createJob({
      type: 'workspace_build',
      organizationId: workspace.organization_id,
      initiatorId: input.initiatorId,
      fileId: versionJob.file_id,
      provisioner: template?.provisioner ?? 'terraform',
      tags: normalizeTags(versionJob.tags, workspace.owner_id),
      plannedFailure: version.build_failure,
    });
    if (version.slow_build) job.slow = true;
    const previous = this.latestBuild(workspace.id);
    const build: BuildRecord = {
      id: randomUUID(),
      created_at: job.created_at,
      updated_at: job.created_at,
      workspace_id: workspace.id,
      template_version_id: version.id,
      build_number: (previous?.build_number ?? 0) + 1,
      transition: input.transition,
      initiator_id: input.initiatorId,
      job_id: job.id,
      reason: input.reason,
      deadline: null,
      max_deadline: null,
    };
    job.build_id = build.id;
    this.builds.set(build.id, build);
    const latest = this.latestBuilds.get(build.workspace_id);
    if (!latest || build.build_number > latest.build_number) this.latestBuilds.set(build.workspace_id, build);
    return build;
  }

  latestBuild(workspaceId: string): BuildRecord | undefined {
    return this.latestBuilds.get(workspaceId);
  }

  /** Owner's workspace by case-insensitive name; live ones win over deleted ones. */
  workspaceByOwnerAndName(ownerId: string, name: string, includeDeleted: boolean): WorkspaceRecord | undefined {
    const lower = name.toLowerCase();
    const matches = this.workspaces.filter((w) => w.owner_id === ownerId && w.name.toLowerCase() === lower);
    return matches.find((w) => !w.deleted) ?? (includeDeleted ? matches.at(-1) : undefined);
  }

  // ---- licenses ----

  addLicense(claims: Record<string, unknown>): LicenseRecord {
    const license: LicenseRecord = { id: this.nextLicenseId++, uuid: randomUUID(), uploaded_at: now(), claims };
    this.licenses.set(license.id, license);
    return license;
  }
}

/** coderd's tag normalisation: missing scope ⇒ organization; user scope gets the owner. */
export function normalizeTags(tags: Record<string, string> | null, userId: string): Record<string, string> {
  const merged: Record<string, string> = { ...DEFAULT_TAGS, ...(tags ?? {}) };
  if (merged.scope === 'user') merged.owner = userId;
  else merged.owner = '';
  return merged;
}
