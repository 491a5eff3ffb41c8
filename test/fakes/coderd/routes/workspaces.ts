// Workspaces and builds (coderd/workspaces.go, workspacebuilds.go, wsbuilder).
// Checks run in coderd's order so the first error a client sees matches.
import type { Organization, ValidationError, WorkspaceTransition } from '../../../../pkg/coder/types.ts';
import { canReadOrg, canReadWorkspace, canUpdateWorkspace, hasRole } from '../auth.ts';
import type { Body } from '../body.ts';
import { ApiError, badRequest, notFound, tagFailure, validationFailed } from '../errors.ts';
import { parseSearch } from '../search.ts';
import type { Reply, Req, Route } from '../server.ts';
import { isActive, jobStatus, workspaceStatus } from '../state.ts';
import type { State, TemplateRecord, UserRecord, VersionRecord, WorkspaceRecord } from '../state.ts';
import { buildView, workspaceView } from '../views.ts';
import { nameValid, paginate, parseBoolParam, parsePagination, weeklyCronProblem } from '../validate.ts';
import { cancelJob, jobLogs } from './jobs.ts';
import { buildParam, orgParam, userParam, workspaceParam } from './params.ts';

const TTL_MIN_MS = 60_000;
const TTL_MAX_MS = 30 * 24 * 3600 * 1000;
const WORKSPACE_STATUSES = ['pending', 'starting', 'running', 'stopping', 'stopped', 'failed', 'canceling', 'canceled', 'deleting', 'deleted'];
const AGENT_STATUSES = ['connecting', 'connected', 'disconnected', 'timeout'];
const BUILD_REASONS = ['dashboard', 'cli', 'ssh_connection', 'vscode_connection', 'jetbrains_connection'];

/** validWorkspaceTTLMillis: null/0 ⇒ template default (or unset); else whole minutes within [1 min, 30 days]. */
function resolveTTL(ttlMs: number | undefined, templateDefault: number): { ttl: number | null; error: string | null } {
  if (ttlMs === undefined || ttlMs === 0) return { ttl: templateDefault === 0 ? null : templateDefault, error: null };
  const truncated = Math.floor(ttlMs / 60_000) * 60_000;
  if (truncated < TTL_MIN_MS) return { ttl: null, error: 'time until shutdown must be at least one minute' };
  if (truncated > TTL_MAX_MS) return { ttl: null, error: 'time until shutdown must be less than 30 days' };
  return { ttl: truncated, error: null };
}

function isRunningStart(state: State, w: WorkspaceRecord): boolean {
  const build = state.latestBuild(w.id);
  if (!build) return false;
  const job = state.jobOf(build);
  return job.completed_at !== null && job.canceled_at === null && job.error === '' && build.transition === 'start';
}

function statusOf(state: State, w: WorkspaceRecord): string {
  const build = state.latestBuild(w.id);
  return build ? workspaceStatus(jobStatus(state.jobOf(build)), build.transition) : 'pending';
}

function listWorkspaces(req: Req): Reply {
  const { state } = req.app;
  const { user } = req.actor;
  const page = parsePagination(req.query);
  const message = 'Invalid workspace search query.';
  const terms = parseSearch(req.query.get('q') ?? '', (term, t) => {
    const parts = term.split('/');
    const [owner, name] = parts;
    if (parts.length === 2 && owner !== undefined && name !== undefined) {
      t.add('owner', owner);
      t.add('name', name);
    } else t.add('name', term);
  }, message);
  const owner = terms.str('owner').toLowerCase();
  const name = terms.str('name').toLowerCase();
  const template = terms.str('template').toLowerCase();
  const status = terms.str('status').toLowerCase();
  if (status !== '' && !WORKSPACE_STATUSES.includes(status)) terms.fail('status', `Query param "status" has invalid value: "${status}"`);
  const ids = terms.uuids('id');
  const deleted = terms.bool('deleted') ?? false;
  const outdated = terms.bool('outdated');
  const dormant = terms.bool('dormant');
  const hasAgent = terms.str('has-agent');
  if (hasAgent !== '' && !AGENT_STATUSES.includes(hasAgent)) terms.fail('has-agent', `Query param "has-agent" has invalid value: "${hasAgent}"`);
  const usedAfter = terms.str('last_used_after');
  const usedBefore = terms.str('last_used_before');
  for (const [field, value] of [['last_used_after', usedAfter], ['last_used_before', usedBefore]] as const) {
    if (value !== '' && Number.isNaN(Date.parse(value))) terms.fail(field, `Query param "${field}" must be a valid date format (2006-01-02T15:04:05Z07:00)`);
  }
  // Accepted for compatibility; no fake workspace has AI tasks, external agents or shares.
  const hasAITask = terms.bool('has-ai-task');
  const hasExternalAgent = terms.bool('has_external_agent');
  const shared = terms.bool('shared');
  terms.str('shared_with_user');
  terms.str('shared_with_group');
  let org: Organization | undefined;
  const orgTerm = terms.str('organization');
  if (orgTerm !== '') {
    org = state.orgByParam(orgTerm);
    if (!org || !canReadOrg(user, org.id)) terms.fail('organization', `Organization "${orgTerm}" either does not exist, or you are unauthorized to view it`);
  }
  for (const key of terms.values.keys()) if (key.startsWith('param')) terms.str(key);
  terms.finish(message);

  const ownerId = owner === 'me' ? user.id : null;
  const matches = state.workspaces.filter((w) => {
    const template_ = state.templates.get(w.template_id);
    const ownerName = state.users.get(w.owner_id)?.username.toLowerCase() ?? '';
    return (
      w.deleted === deleted &&
      canReadWorkspace(user, w) &&
      (owner === '' || (ownerId !== null ? w.owner_id === ownerId : ownerName === owner)) &&
      (name === '' || w.name.toLowerCase().includes(name)) &&
      (template === '' || template_?.name.toLowerCase() === template) &&
      (status === '' || statusOf(state, w) === status) &&
      (ids.length === 0 || ids.includes(w.id)) &&
      (org === undefined || w.organization_id === org.id) &&
      (outdated === null || (state.latestBuild(w.id)?.template_version_id !== template_?.active_version_id) === outdated) &&
      (dormant === null || (w.dormant_at !== null) === dormant) &&
      hasAgent === '' &&
      (usedAfter === '' || Date.parse(w.last_used_at) > Date.parse(usedAfter)) &&
      (usedBefore === '' || Date.parse(w.last_used_at) < Date.parse(usedBefore)) &&
      hasAITask !== true &&
      hasExternalAgent !== true &&
      shared !== true
    );
  });
  // coderd: requester's favorites, then running workspaces, then owner name, then name.
  const rank = (w: WorkspaceRecord): [number, number, string, string] => [
    w.favorite && w.owner_id === user.id ? 0 : 1,
    isRunningStart(state, w) ? 0 : 1,
    state.users.get(w.owner_id)?.username.toLowerCase() ?? '',
    w.name.toLowerCase(),
  ];
  matches.sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    return ra[0] - rb[0] || ra[1] - rb[1] || ra[2].localeCompare(rb[2]) || ra[3].localeCompare(rb[3]);
  });
  const paged = paginate(matches, { ...page, afterId: null });
  return { status: 200, json: { workspaces: paged.map((w) => workspaceView(state, w, user.id)), count: matches.length } };
}

function getWorkspace(req: Req): Reply {
  const workspace = workspaceParam(req);
  const includeDeleted = parseBoolParam(req.query, 'include_deleted', 'deleted') ?? false;
  if (workspace.deleted && !includeDeleted) {
    throw new ApiError(410, `Workspace "${workspace.id}" was deleted, you can view this workspace by specifying '?deleted=true' and trying again.`);
  }
  return { status: 200, json: workspaceView(req.app.state, workspace, req.actor.user.id) };
}

function getWorkspaceByOwnerAndName(req: Req): Reply {
  const owner = userParam(req);
  const includeDeleted = parseBoolParam(req.query, 'include_deleted') ?? false;
  const workspace = req.app.state.workspaceByOwnerAndName(owner.id, req.param('workspacename'), includeDeleted);
  if (!workspace || !canReadWorkspace(req.actor.user, workspace)) throw notFound();
  return { status: 200, json: workspaceView(req.app.state, workspace, req.actor.user.id) };
}

/** wsbuilder's version checks: belongs to the template and finished importing. */
function checkVersionUsable(state: State, template: TemplateRecord, version: VersionRecord | undefined): VersionRecord {
  if (!version) throw new ApiError(400, 'template version does not exist', { detail: 'sql: no rows in result set' });
  if (version.template_id !== template.id) {
    throw new ApiError(400, "template version doesn't match template", {
      detail: `templateVersion.TemplateID = ${version.template_id ?? 'null'}, template.ID = ${template.id}`,
    });
  }
  const job = state.jobOf(version);
  const status = jobStatus(job);
  if (status === 'pending' || status === 'running') {
    const msg = `The provided template version is ${status}. Wait for it to complete importing!`;
    throw new ApiError(406, msg, { detail: msg });
  }
  if (status === 'failed' || status === 'canceled') {
    const msg = `The provided template version "${version.name}" has failed to import: "${job.error}". You cannot build workspaces with it!`;
    throw new ApiError(400, msg, { detail: msg });
  }
  return version;
}

function checkCreateBody(body: Body): { name: string; templateId?: string; versionId?: string } {
  const name = body.str('name') ?? '';
  const templateId = body.uuid('template_id');
  const versionId = body.uuid('template_version_id');
  const problems: ValidationError[] = [];
  if (!nameValid(name)) problems.push(tagFailure('name', name === '' ? 'required' : 'workspace_name', name));
  if (templateId === undefined && versionId === undefined) {
    problems.push(tagFailure('template_id', 'required_without', '00000000-0000-0000-0000-000000000000'));
    problems.push(tagFailure('template_version_id', 'required_without', '00000000-0000-0000-0000-000000000000'));
  } else if (templateId !== undefined && versionId !== undefined) {
    problems.push(tagFailure('template_id', 'excluded_with', templateId));
    problems.push(tagFailure('template_version_id', 'excluded_with', versionId));
  }
  if (problems.length > 0) throw validationFailed(problems);
  return { name, templateId, versionId };
}

/** requestTemplate: resolve the template from template_id or template_version_id. */
function requestTemplate(req: Req, templateId: string | undefined, versionId: string | undefined): TemplateRecord {
  const { state } = req.app;
  let id = templateId;
  if (id === undefined && versionId !== undefined) {
    const version = state.versions.get(versionId);
    if (!version || !canReadOrg(req.actor.user, version.organization_id)) {
      throw badRequest(`Template version "${versionId}" doesn't exist.`, [{ field: 'template_version_id', detail: 'template not found' }]);
    }
    if (version.archived) {
      throw new ApiError(500, 'Archived template versions cannot be used to make a workspace.', {
        validations: [{ field: 'template_version_id', detail: 'template version archived' }],
      });
    }
    id = version.template_id ?? undefined;
  }
  const template = id === undefined ? undefined : state.templates.get(id);
  if (!template || !canReadOrg(req.actor.user, template.organization_id)) {
    throw badRequest(`Template "${id ?? '00000000-0000-0000-0000-000000000000'}" doesn't exist.`, [{ field: 'template_id', detail: 'template not found' }]);
  }
  if (template.deleted) throw new ApiError(404, `Template "${template.name}" has been deleted!`);
  return template;
}

async function createWorkspace(req: Req, owner: UserRecord, org: Organization | null): Promise<Reply> {
  const { state, jobs } = req.app;
  const actor = req.actor.user;
  const body = await req.json();
  const fields = checkCreateBody(body);
  const template = requestTemplate(req, fields.templateId, fields.versionId);
  if (org && template.organization_id !== org.id) throw notFound();
  const ownerIsMember = owner.organization_ids.includes(template.organization_id) || owner.roles.includes('owner');
  if ((owner.id !== actor.id && !hasRole(actor)) || !ownerIsMember) {
    throw new ApiError(403, 'Unauthorized to create workspace.', {
      detail:
        'You are unable to create a workspace in this organization. It is possible to have access to the template, but not be able to create a workspace. Please contact an administrator about your permissions if you feel this is an error.',
    });
  }
  if (template.deprecation_message !== '') {
    throw badRequest(`Template "${template.name}" has been deprecated, and cannot be used to create a new workspace.`, undefined, template.deprecation_message);
  }
  const schedule = body.str('autostart_schedule') ?? '';
  const cronProblem = schedule === '' ? null : weeklyCronProblem(schedule);
  if (cronProblem) throw badRequest('Invalid Autostart Schedule.', [{ field: 'schedule', detail: cronProblem }]);
  const ttl = resolveTTL(body.int('ttl_ms'), template.default_ttl_ms);
  if (ttl.error) throw badRequest('Invalid Workspace Time to Shutdown.', [{ field: 'ttl_ms', detail: ttl.error }]);
  const automaticUpdates = body.str('automatic_updates') ?? '';
  if (automaticUpdates !== '' && automaticUpdates !== 'always' && automaticUpdates !== 'never') {
    throw badRequest('Invalid Workspace Automatic Updates setting.', [{ field: 'automatic_updates', detail: 'Automatic updates must be always or never' }]);
  }
  if (state.workspaceByOwnerAndName(owner.id, fields.name, false)) {
    throw new ApiError(409, `Workspace "${fields.name}" already exists.`, {
      validations: [{ field: 'name', detail: 'This value is already in use and should be unique.' }],
    });
  }
  const version = checkVersionUsable(state, template, state.versions.get(fields.versionId ?? template.active_version_id));

  const workspace = state.createWorkspace({
    ownerId: owner.id,
    organizationId: template.organization_id,
    templateId: template.id,
    name: fields.name,
    autostartSchedule: schedule === '' ? null : schedule,
    ttlMs: ttl.ttl,
    automaticUpdates: automaticUpdates === 'always' ? 'always' : 'never',
  });
  const build = state.createBuild(workspace, { versionId: version.id, transition: 'start', initiatorId: actor.id, reason: 'initiator' });
  jobs.enqueue(state.jobOf(build));
  return { status: 201, json: workspaceView(state, workspace, actor.id, { created: true }) };
}

async function postBuild(req: Req): Promise<Reply> {
  const { state, jobs } = req.app;
  const actor = req.actor.user;
  const workspace = workspaceParam(req);
  const body = await req.json();
  const transition = body.str('transition') ?? '';
  const reason = body.str('reason') ?? '';
  const problems: ValidationError[] = [];
  if (transition !== 'start' && transition !== 'stop' && transition !== 'delete') {
    problems.push(tagFailure('transition', transition === '' ? 'required' : 'oneof', transition));
  }
  if (reason !== '' && !BUILD_REASONS.includes(reason)) problems.push(tagFailure('reason', 'oneof', reason));
  const logLevel = body.str('log_level') ?? '';
  if (logLevel !== '' && logLevel !== 'debug') problems.push(tagFailure('log_level', 'oneof', logLevel));
  if (problems.length > 0 || (transition !== 'start' && transition !== 'stop' && transition !== 'delete')) throw validationFailed(problems);
  const wanted: WorkspaceTransition = transition;

  if (workspace.deleted && wanted !== 'delete') {
    throw new ApiError(409, `Cannot ${wanted} a deleted workspace!`, { detail: 'This workspace has been deleted and cannot be modified.' });
  }
  const orphan = body.bool('orphan') ?? false;
  if (orphan && wanted !== 'delete') throw badRequest('Orphan is only permitted when deleting a workspace.');
  if (!canUpdateWorkspace(actor, workspace)) {
    throw new ApiError(403, `You do not have permission to ${wanted} this workspace.`, {
      detail: "You don't have permission to view this content. If you believe this is a mistake, please contact your administrator or try signing in with different credentials.",
    });
  }
  if ((body.has('state') || orphan) && !hasRole(actor, 'template-admin')) {
    throw new ApiError(403, 'Only template managers may provide custom state', { detail: 'Only template managers may provide custom state' });
  }
  if (logLevel !== '') {
    const msg = hasRole(actor, 'auditor', 'template-admin')
      ? 'Terraform debug mode is disabled in the deployment configuration.'
      : 'Workspace builds with a custom log level are restricted to administrators only.';
    throw new ApiError(400, msg, { detail: msg });
  }

  const template = state.templates.get(workspace.template_id);
  if (!template) throw new ApiError(500, 'failed to fetch template');
  const previous = state.latestBuild(workspace.id);
  const requested = body.uuid('template_version_id');
  const useActive = wanted === 'start' && (workspace.automatic_updates === 'always' || (template.require_active_version && !hasRole(actor, 'template-admin')));
  const versionId = requested ?? (useActive || !previous ? template.active_version_id : previous.template_version_id);
  const version = checkVersionUsable(state, template, state.versions.get(versionId));
  if (previous && isActive(jobStatus(state.jobOf(previous)))) {
    const msg = 'A workspace build is already active.';
    throw new ApiError(409, msg, { detail: msg });
  }
  const build = state.createBuild(workspace, {
    versionId: version.id,
    transition: wanted,
    initiatorId: actor.id,
    reason: wanted !== 'delete' && reason !== '' ? reason : 'initiator',
  });
  jobs.enqueue(state.jobOf(build));
  return { status: 201, json: buildView(state, build, { created: true }) };
}

function listBuilds(req: Req): Reply {
  const { state } = req.app;
  const workspace = workspaceParam(req);
  const page = parsePagination(req.query);
  const builds = state.builds.filter((b) => b.workspace_id === workspace.id).sort((a, b) => b.build_number - a.build_number);
  return { status: 200, json: paginate(builds, page, (b) => b.id).map((b) => buildView(state, b)) };
}

function getBuild(req: Req): Reply {
  return { status: 200, json: buildView(req.app.state, buildParam(req)) };
}

async function putTTL(req: Req): Promise<Reply> {
  const { state } = req.app;
  const workspace = workspaceParam(req);
  if (!canUpdateWorkspace(req.actor.user, workspace)) throw new ApiError(403, 'Forbidden.');
  const body = await req.json();
  const fail = (detail: string): ApiError =>
    badRequest('Error updating workspace time until shutdown.', [{ field: 'ttl_ms', detail }]);
  const template = state.templates.get(workspace.template_id);
  if (template && !template.allow_user_autostop) throw fail('Custom autostop TTL is not allowed for workspaces using this template.');
  const ttl = resolveTTL(body.int('ttl_ms'), 0);
  if (ttl.error) throw fail(ttl.error);
  workspace.ttl_ms = ttl.ttl;
  if (ttl.ttl === null) {
    const build = state.latestBuild(workspace.id);
    if (build?.transition === 'start') build.deadline = build.max_deadline;
  }
  return { status: 204 };
}

async function putAutostart(req: Req): Promise<Reply> {
  const { state } = req.app;
  const workspace = workspaceParam(req);
  if (!canUpdateWorkspace(req.actor.user, workspace)) throw new ApiError(403, 'Forbidden.');
  const schedule = (await req.json()).str('schedule') ?? '';
  const problem = schedule === '' ? null : weeklyCronProblem(schedule);
  if (problem) throw badRequest('Invalid autostart schedule.', [{ field: 'schedule', detail: problem }]);
  const template = state.templates.get(workspace.template_id);
  if (template && !template.allow_user_autostart) {
    const msg = 'Autostart is not allowed for workspaces using this template.';
    throw badRequest(msg, [{ field: 'schedule', detail: msg }]);
  }
  workspace.autostart_schedule = schedule === '' ? null : schedule;
  return { status: 204 };
}

/** Owners may always cancel; others only when the template allows it (verifyUserCanCancelWorkspaceBuilds). */
function cancelBuild(req: Req): Reply {
  const { state } = req.app;
  const build = buildParam(req);
  const workspace = state.workspaces.get(build.workspace_id);
  const template = workspace ? state.templates.get(workspace.template_id) : undefined;
  if (workspace && !canUpdateWorkspace(req.actor.user, workspace)) throw notFound();
  if (!template?.allow_user_cancel_workspace_jobs && !req.actor.user.roles.includes('owner')) {
    throw new ApiError(403, 'User is not allowed to cancel workspace builds. Owner role is required.');
  }
  return cancelJob(req, state.jobOf(build));
}

/** PUT/DELETE /workspaces/{id}/favorite: only the owner's own workspaces. */
function setFavorite(req: Req, favorite: boolean): Reply {
  const workspace = workspaceParam(req);
  if (workspace.owner_id !== req.actor.user.id) throw badRequest('You can only favorite workspaces that you own.');
  workspace.favorite = favorite;
  return { status: 204 };
}

export const workspaceRoutes: Route[] = [
  { method: 'PUT', path: '/workspaces/{workspace}/favorite', handler: (req) => setFavorite(req, true) },
  { method: 'DELETE', path: '/workspaces/{workspace}/favorite', handler: (req) => setFavorite(req, false) },
  { method: 'GET', path: '/workspacebuilds/{workspacebuild}/logs', handler: (req) => jobLogs(req, req.app.state.jobOf(buildParam(req))) },
  { method: 'PATCH', path: '/workspacebuilds/{workspacebuild}/cancel', handler: cancelBuild },
  { method: 'GET', path: '/workspaces', handler: listWorkspaces },
  { method: 'GET', path: '/workspaces/{workspace}', handler: getWorkspace },
  { method: 'GET', path: '/users/{user}/workspace/{workspacename}', handler: getWorkspaceByOwnerAndName },
  { method: 'POST', path: '/users/{user}/workspaces', handler: (req) => createWorkspace(req, userParam(req), null) },
  {
    method: 'POST',
    path: '/organizations/{organization}/members/{user}/workspaces',
    handler: (req) => createWorkspace(req, userParam(req), orgParam(req)),
  },
  { method: 'POST', path: '/workspaces/{workspace}/builds', handler: postBuild },
  { method: 'GET', path: '/workspaces/{workspace}/builds', handler: listBuilds },
  { method: 'GET', path: '/workspacebuilds/{workspacebuild}', handler: getBuild },
  { method: 'PUT', path: '/workspaces/{workspace}/ttl', handler: putTTL },
  { method: 'PUT', path: '/workspaces/{workspace}/autostart', handler: putAutostart },
];
