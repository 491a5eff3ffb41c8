// Renders stored records as the exact JSON coderd serves (codersdk types),
// joining related records the way coderd's SQL views do.
import type {
  Organization,
  ProvisionerJob,
  Template,
  TemplateVersion,
  User,
  Workspace,
  WorkspaceBuild,
} from '../../../pkg/coder/types.ts';
import { ZERO_UUID } from '../../../pkg/coder/types.ts';
import { jobStatus, workspaceStatus } from './state.ts';
import type { BuildRecord, JobRecord, State, TemplateRecord, UserRecord, VersionRecord, WorkspaceRecord } from './state.ts';

const ROLE_DISPLAY: Record<string, string> = {
  owner: 'Owner',
  'user-admin': 'User Admin',
  'template-admin': 'Template Admin',
  auditor: 'Auditor',
};

export function userView(user: UserRecord): User {
  return {
    id: user.id,
    username: user.username,
    // omitempty in codersdk.User: absent, not "", for a user without a name or an avatar.
    ...(user.name !== '' ? { name: user.name } : {}),
    ...(user.avatar_url !== '' ? { avatar_url: user.avatar_url } : {}),
    email: user.email,
    created_at: user.created_at,
    updated_at: user.updated_at,
    last_seen_at: user.last_seen_at,
    status: user.status,
    login_type: user.login_type,
    organization_ids: [...user.organization_ids],
    roles: user.roles.map((name) => ({ name, display_name: ROLE_DISPLAY[name] ?? name })),
  };
}

function usernameOf(state: State, id: string): string {
  return state.users.get(id)?.username ?? '';
}

function orgOf(state: State, id: string): Organization | undefined {
  return state.orgs.get(id);
}

export function templateView(state: State, t: TemplateRecord): Template {
  const org = orgOf(state, t.organization_id);
  const { deleted: _deleted, ...stored } = t;
  return {
    ...stored,
    organization_name: org?.name ?? '',
    organization_display_name: org?.display_name ?? '',
    organization_icon: org?.icon ?? '',
    active_user_count: 0,
    build_time_stats: {
      start: { P50: null, P95: null },
      stop: { P50: null, P95: null },
      delete: { P50: null, P95: null },
    },
    deprecated: t.deprecation_message !== '',
    created_by_name: usernameOf(state, t.created_by_id),
    // AGPL Coder cannot restrict port sharing and reports every template's level as public.
    max_port_share_level: state.edition === 'agpl' ? 'public' : t.max_port_share_level,
    autostop_requirement: { days_of_week: [...t.autostop_requirement.days_of_week], weeks: t.autostop_requirement.weeks },
    autostart_requirement: { days_of_week: [...t.autostart_requirement.days_of_week] },
  };
}

/** How a response renders: `created` is the answer to the POST that made the object. */
export interface ViewOptions {
  created?: boolean;
}

/**
 * A provisioner job as coderd embeds it in versions and builds: `metadata` is left empty there
 * (coderd fills it only for its provisioner-job list endpoints), and queue_position/queue_size are
 * 0 in the creating POST's answer even for a job that will queue.
 */
export function jobView(state: State, job: JobRecord, o: ViewOptions = {}): ProvisionerJob {
  const status = jobStatus(job);
  const queued = status === 'pending' && !o.created ? state.jobQueue.indexOf(job.id) : -1;
  const view: ProvisionerJob = {
    id: job.id,
    created_at: job.created_at,
    status,
    file_id: job.file_id,
    tags: { ...job.tags },
    queue_position: queued + 1,
    queue_size: queued >= 0 ? state.jobQueue.length : 0,
    organization_id: job.organization_id,
    initiator_id: job.initiator_id,
    input: job.type === 'template_version_import' ? { template_version_id: job.version_id ?? ZERO_UUID } : { workspace_build_id: job.build_id ?? ZERO_UUID },
    type: job.type,
    metadata: { template_version_name: '', template_id: ZERO_UUID, template_name: '', template_display_name: '', template_icon: '' },
    logs_overflowed: false,
  };
  if (job.started_at !== null) {
    view.started_at = job.started_at;
    view.worker_id = state.provisionerId;
  }
  if (job.completed_at !== null) view.completed_at = job.completed_at;
  if (job.canceled_at !== null) view.canceled_at = job.canceled_at;
  if (job.error !== '') view.error = job.error;
  return view;
}

/** coderd answers matched_provisioners only when it creates a job: the daemons that could take it. */
function matchedProvisioners(state: State): { count: number; available: number; most_recently_seen: string } {
  const daemons = Number.isFinite(state.provisionerDaemons) ? state.provisionerDaemons : 1;
  return { count: daemons, available: daemons, most_recently_seen: new Date().toISOString() };
}

export function versionView(state: State, v: VersionRecord, o: ViewOptions = {}): TemplateVersion {
  const creator = state.users.get(v.created_by);
  return {
    id: v.id,
    template_id: v.template_id ?? ZERO_UUID,
    organization_id: v.organization_id,
    created_at: v.created_at,
    updated_at: v.updated_at,
    name: v.name,
    message: v.message,
    job: jobView(state, state.jobOf(v), o),
    readme: v.readme,
    created_by: {
      id: v.created_by,
      username: creator?.username ?? '',
      name: creator?.name ?? '',
      ...(creator?.avatar_url ? { avatar_url: creator.avatar_url } : {}),
    },
    archived: v.archived,
    ...(o.created ? { matched_provisioners: matchedProvisioners(state) } : {}),
    has_external_agent: false,
  };
}

/**
 * A workspace build. matched_provisioners is the daemons that could take it in the creating
 * POST's answer and zeros afterwards; has_ai_task/has_external_agent appear once a job that
 * ran completes without error (coderd sets them then).
 */
export function buildView(state: State, b: BuildRecord, o: ViewOptions = {}): WorkspaceBuild {
  const workspace = state.workspaces.get(b.workspace_id);
  const owner = workspace ? state.users.get(workspace.owner_id) : undefined;
  const job = state.jobOf(b);
  const view: WorkspaceBuild & Record<string, unknown> = {
    id: b.id,
    created_at: b.created_at,
    updated_at: b.updated_at,
    workspace_id: b.workspace_id,
    workspace_name: workspace?.name ?? '',
    workspace_owner_id: workspace?.owner_id ?? ZERO_UUID,
    workspace_owner_name: owner?.username ?? '',
    ...(owner?.avatar_url ? { workspace_owner_avatar_url: owner.avatar_url } : {}),
    template_version_id: b.template_version_id,
    template_version_name: state.versions.get(b.template_version_id)?.name ?? '',
    build_number: b.build_number,
    transition: b.transition,
    initiator_id: b.initiator_id,
    initiator_name: usernameOf(state, b.initiator_id),
    job: jobView(state, job, o),
    reason: b.reason,
    resources: [],
    deadline: b.deadline,
    max_deadline: b.max_deadline,
    status: workspaceStatus(jobStatus(job), b.transition),
    daily_cost: 0,
    matched_provisioners: o.created ? matchedProvisioners(state) : { count: 0, available: 0, most_recently_seen: null },
    template_version_preset_id: null,
  };
  if (job.completed_at !== null && job.started_at !== null && job.error === '') {
    view.has_ai_task = false;
    view.has_external_agent = false;
  }
  return view;
}

/** Renders a workspace; `requesterId` decides `favorite` like coderd. */
export function workspaceView(state: State, w: WorkspaceRecord, requesterId: string, o: ViewOptions = {}): Workspace {
  const owner = state.users.get(w.owner_id);
  const org = orgOf(state, w.organization_id);
  const template = state.templates.get(w.template_id);
  const latest = state.latestBuild(w.id);
  if (!latest) throw new Error(`fake coderd: workspace ${w.id} has no build`);
  const build = buildView(state, latest, o);
  const view: Workspace = {
    id: w.id,
    created_at: w.created_at,
    updated_at: w.updated_at,
    owner_id: w.owner_id,
    owner_name: owner?.username ?? '',
    owner_avatar_url: owner?.avatar_url ?? '',
    organization_id: w.organization_id,
    organization_name: org?.name ?? '',
    template_id: w.template_id,
    template_name: template?.name ?? '',
    template_display_name: template?.display_name ?? '',
    template_icon: template?.icon ?? '',
    template_allow_user_cancel_workspace_jobs: template?.allow_user_cancel_workspace_jobs ?? false,
    template_active_version_id: template?.active_version_id ?? ZERO_UUID,
    template_require_active_version: template?.require_active_version ?? false,
    template_use_classic_parameter_flow: template?.use_classic_parameter_flow ?? false,
    latest_build: build,
    latest_app_status: null,
    outdated: template !== undefined && build.template_version_id !== template.active_version_id,
    name: w.name,
    last_used_at: w.last_used_at,
    deleting_at: w.deleting_at,
    dormant_at: w.dormant_at,
    health: { healthy: true, failing_agents: [] },
    automatic_updates: w.automatic_updates,
    allow_renames: false,
    favorite: w.favorite && w.owner_id === requesterId,
    next_start_at: null,
    is_prebuild: false,
    task_id: null,
  };
  if (w.autostart_schedule !== null) view.autostart_schedule = w.autostart_schedule;
  // coderd reports the template default when users may not set their own TTL.
  const ttl = template && !template.allow_user_autostop ? template.default_ttl_ms : w.ttl_ms;
  if (ttl !== null) view.ttl_ms = ttl;
  return view;
}
