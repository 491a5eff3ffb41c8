// Wire types of the Coder REST API (codersdk v2.30.0), the subset coder-k8s uses.
// Shared by the client (pkg/coder) and the fake server (test/fakes/coderd) so that
// both speak exactly the JSON documented in shared/CODER_API.md.

export type UUID = string;
/** RFC 3339 timestamp. Zero time is "0001-01-01T00:00:00Z". */
export type Time = string;

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Error envelope (codersdk.Response). */
export interface CoderResponse {
  message: string;
  detail?: string;
  validations?: ValidationError[];
}

export interface ValidationError {
  field: string;
  detail: string;
}

export interface Organization {
  id: UUID;
  name: string;
  display_name: string;
  icon: string;
  description: string;
  created_at: Time;
  updated_at: Time;
  is_default: boolean;
}

export interface TransitionStats {
  P50: number | null;
  P95: number | null;
}

export interface Template {
  id: UUID;
  created_at: Time;
  updated_at: Time;
  organization_id: UUID;
  organization_name: string;
  organization_display_name: string;
  organization_icon: string;
  name: string;
  display_name: string;
  provisioner: 'terraform' | 'echo';
  active_version_id: UUID;
  active_user_count: number;
  build_time_stats: Partial<Record<WorkspaceTransition, TransitionStats>>;
  description: string;
  icon: string;
  deprecated: boolean;
  deprecation_message: string;
  default_ttl_ms: number;
  activity_bump_ms: number;
  autostop_requirement: { days_of_week: string[]; weeks: number };
  autostart_requirement: { days_of_week: string[] };
  created_by_id: UUID;
  created_by_name: string;
  allow_user_autostart: boolean;
  allow_user_autostop: boolean;
  allow_user_cancel_workspace_jobs: boolean;
  failure_ttl_ms: number;
  time_til_dormant_ms: number;
  time_til_dormant_autodelete_ms: number;
  require_active_version: boolean;
  max_port_share_level: 'owner' | 'authenticated' | 'organization' | 'public';
  cors_behavior: 'simple' | 'passthru';
  use_classic_parameter_flow: boolean;
}

export interface CreateTemplateRequest {
  name: string;
  display_name?: string;
  description?: string;
  icon?: string;
  template_version_id: UUID;
  default_ttl_ms?: number;
  activity_bump_ms?: number;
  allow_user_cancel_workspace_jobs?: boolean | null;
  allow_user_autostart?: boolean;
  allow_user_autostop?: boolean;
  failure_ttl_ms?: number;
  dormant_ttl_ms?: number;
  delete_ttl_ms?: number;
  disable_everyone_group_access?: boolean;
  require_active_version?: boolean;
  max_port_share_level?: string | null;
}

/**
 * PATCH /templates/{id}. In v2.30 several fields are not pointers: omitting them
 * resets them to zero on the server, so clients send the full current state.
 */
export interface UpdateTemplateMeta {
  name?: string;
  display_name?: string;
  description?: string;
  icon?: string;
  default_ttl_ms?: number;
  activity_bump_ms?: number;
  autostop_requirement?: { days_of_week: string[]; weeks: number };
  autostart_requirement?: { days_of_week: string[] };
  allow_user_autostart?: boolean;
  allow_user_autostop?: boolean;
  allow_user_cancel_workspace_jobs?: boolean;
  failure_ttl_ms?: number;
  time_til_dormant_ms?: number;
  time_til_dormant_autodelete_ms?: number;
  require_active_version?: boolean;
  deprecation_message?: string;
  disable_everyone_group_access?: boolean;
  update_workspace_last_used_at?: boolean;
  update_workspace_dormant_at?: boolean;
  max_port_share_level?: string;
  use_classic_parameter_flow?: boolean;
}

export interface UpdateActiveTemplateVersion {
  id: UUID;
}

export type ProvisionerJobStatus = 'pending' | 'running' | 'succeeded' | 'canceling' | 'canceled' | 'failed' | 'unknown';

export const ACTIVE_JOB_STATUSES: readonly ProvisionerJobStatus[] = ['pending', 'running', 'canceling'];

export interface ProvisionerJob {
  id: UUID;
  created_at: Time;
  started_at?: Time;
  completed_at?: Time;
  canceled_at?: Time;
  error?: string;
  error_code?: string;
  status: ProvisionerJobStatus;
  worker_id?: UUID;
  worker_name?: string;
  file_id: UUID;
  tags: Record<string, string>;
  queue_position: number;
  queue_size: number;
  organization_id: UUID;
  initiator_id: UUID;
  input: { template_version_id?: UUID; workspace_build_id?: UUID; error?: string };
  type: 'template_version_import' | 'workspace_build' | 'template_version_dry_run';
  available_workers?: UUID[];
  metadata: {
    template_version_name: string;
    template_id: UUID;
    template_name: string;
    template_display_name: string;
    template_icon: string;
    workspace_id?: UUID;
    workspace_name?: string;
  };
  logs_overflowed: boolean;
}

/** One line of a provisioner job's log (GET /api/v2/templateversions/{id}/logs). */
export interface ProvisionerJobLog {
  id: number;
  created_at: Time;
  log_source: 'provisioner_daemon' | 'provisioner';
  log_level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  stage: string;
  output: string;
}

export interface MinimalUser {
  id: UUID;
  username: string;
  name?: string;
  avatar_url?: string;
}

export interface TemplateVersion {
  id: UUID;
  template_id: UUID;
  organization_id: UUID;
  created_at: Time;
  updated_at: Time;
  name: string;
  message: string;
  job: ProvisionerJob;
  readme: string;
  created_by: MinimalUser;
  archived: boolean;
  warnings?: string[];
  matched_provisioners?: { count: number; available: number; most_recently_seen: Time | null };
  has_external_agent: boolean;
}

export interface CreateTemplateVersionRequest {
  name?: string;
  message?: string;
  template_id?: UUID;
  storage_method: 'file';
  file_id?: UUID;
  example_id?: string;
  provisioner: 'terraform' | 'echo';
  tags: Record<string, string> | null;
  user_variable_values?: { name: string; value: string }[];
}

/** POST /files response: `hash` is the file id. */
export interface UploadResponse {
  hash: UUID;
}

export type WorkspaceTransition = 'start' | 'stop' | 'delete';

export type WorkspaceStatus =
  | 'pending'
  | 'starting'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'failed'
  | 'canceling'
  | 'canceled'
  | 'deleting'
  | 'deleted';

export interface WorkspaceBuild {
  id: UUID;
  created_at: Time;
  updated_at: Time;
  workspace_id: UUID;
  workspace_name: string;
  workspace_owner_id: UUID;
  workspace_owner_name: string;
  workspace_owner_avatar_url?: string;
  template_version_id: UUID;
  template_version_name: string;
  build_number: number;
  transition: WorkspaceTransition;
  initiator_id: UUID;
  initiator_name: string;
  job: ProvisionerJob;
  reason: string;
  resources: unknown[];
  deadline: Time | null;
  max_deadline: Time | null;
  status: WorkspaceStatus;
  daily_cost: number;
  template_version_preset_id: UUID | null;
}

export interface Workspace {
  id: UUID;
  created_at: Time;
  updated_at: Time;
  owner_id: UUID;
  owner_name: string;
  owner_avatar_url: string;
  organization_id: UUID;
  organization_name: string;
  template_id: UUID;
  template_name: string;
  template_display_name: string;
  template_icon: string;
  template_allow_user_cancel_workspace_jobs: boolean;
  template_active_version_id: UUID;
  template_require_active_version: boolean;
  template_use_classic_parameter_flow: boolean;
  latest_build: WorkspaceBuild;
  latest_app_status: unknown;
  outdated: boolean;
  name: string;
  autostart_schedule?: string;
  ttl_ms?: number;
  last_used_at: Time;
  deleting_at: Time | null;
  dormant_at: Time | null;
  health: { healthy: boolean; failing_agents: UUID[] };
  automatic_updates: 'always' | 'never';
  allow_renames: boolean;
  favorite: boolean;
  next_start_at: Time | null;
  is_prebuild: boolean;
  task_id: UUID | null;
}

export interface WorkspacesResponse {
  workspaces: Workspace[];
  count: number;
}

export interface CreateWorkspaceRequest {
  name: string;
  template_id?: UUID;
  template_version_id?: UUID;
  autostart_schedule?: string;
  ttl_ms?: number;
  rich_parameter_values?: { name: string; value: string }[];
  automatic_updates?: 'always' | 'never';
}

export interface CreateWorkspaceBuildRequest {
  transition: WorkspaceTransition;
  template_version_id?: UUID;
  dry_run?: boolean;
  orphan?: boolean;
  reason?: string;
}

export interface UpdateWorkspaceTTLRequest {
  ttl_ms: number | null;
}

export interface UpdateWorkspaceAutostartRequest {
  schedule?: string;
}

export interface User {
  id: UUID;
  username: string;
  name?: string;
  avatar_url?: string;
  email: string;
  created_at: Time;
  updated_at: Time;
  last_seen_at: Time;
  status: 'active' | 'dormant' | 'suspended';
  login_type: '' | 'password' | 'github' | 'oidc' | 'token' | 'none';
  organization_ids: UUID[];
  roles: { name: string; display_name: string; organization_id?: UUID }[];
}

export interface CreateFirstUserRequest {
  email: string;
  username: string;
  name?: string;
  password: string;
  trial?: boolean;
}

export interface CreateFirstUserResponse {
  user_id: UUID;
  organization_id: UUID;
}

export interface LoginWithPasswordRequest {
  email: string;
  password: string;
}

export interface LoginWithPasswordResponse {
  session_token: string;
}

export interface CreateUserRequestWithOrgs {
  email: string;
  username: string;
  name?: string;
  password?: string;
  login_type?: '' | 'password' | 'github' | 'oidc' | 'none';
  user_status?: 'active' | 'dormant' | 'suspended' | null;
  organization_ids?: UUID[];
}

export interface CreateTokenRequest {
  /** Nanoseconds (Go time.Duration). */
  lifetime?: number;
  scopes?: string[];
  token_name?: string;
}

export interface GenerateAPIKeyResponse {
  key: string;
}

export interface BuildInfoResponse {
  external_url: string;
  version: string;
  dashboard_url: string;
  telemetry: boolean;
  workspace_proxy: boolean;
  agent_api_version: string;
  provisioner_api_version: string;
  upgrade_message: string;
  deployment_id: string;
}

export interface Feature {
  entitlement: 'entitled' | 'grace_period' | 'not_entitled';
  enabled: boolean;
  limit?: number;
  actual?: number;
}

export interface Entitlements {
  features: Record<string, Feature>;
  warnings: string[] | null;
  errors: string[] | null;
  has_license: boolean;
  trial: boolean;
  require_telemetry: boolean;
  refreshed_at: Time;
}
