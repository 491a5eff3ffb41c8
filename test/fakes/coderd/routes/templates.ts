// Templates (coderd/templates.go) with v2.30 PATCH semantics: several fields
// are not pointers, so omitting them resets them to zero (CODER_API.md §2).
import type { ValidationError } from '../../../../pkg/coder/types.ts';
import { canManageTemplates, canReadOrg } from '../auth.ts';
import type { Body } from '../body.ts';
import { ApiError, badRequest, forbidden, notFound, tagFailure, validationFailed } from '../errors.ts';
import { parseSearch } from '../search.ts';
import type { Reply, Req, Route } from '../server.ts';
import { jobStatus } from '../state.ts';
import type { TemplateRecord } from '../state.ts';
import { templateView } from '../views.ts';
import { displayNameValid, isUUID, nameValid } from '../validate.ts';
import { orgParam, templateParam } from './params.ts';

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const PORT_SHARE_LEVELS = ['owner', 'authenticated', 'organization', 'public'] as const;
const CORS_BEHAVIORS = ['simple', 'passthru'] as const;
const MAX_AUTOSTOP_WEEKS = 16;
const MIN_TTL_MS = 60_000;

const PORT_SHARING_ENTERPRISE = 'Restricting port sharing level is an enterprise feature that is not enabled.';

/** What an AGPL Coder stores for the enterprise-only scheduling settings, whatever was asked. */
const AGPL_SCHEDULING = {
  failure_ttl_ms: 0,
  time_til_dormant_ms: 0,
  time_til_dormant_autodelete_ms: 0,
  require_active_version: false,
  deprecation_message: '',
  autostop_requirement: { days_of_week: [], weeks: 1 },
  autostart_requirement: { days_of_week: [...WEEKDAYS] },
  allow_user_autostart: true,
  allow_user_autostop: true,
} satisfies Partial<TemplateRecord>;

function requireTemplateAdmin(req: Req): void {
  if (!canManageTemplates(req.actor.user)) throw forbidden();
}

function sortTemplates(templates: TemplateRecord[]): TemplateRecord[] {
  // coderd orders by (name, id); the later sort by active_user_count is a no-op here (always 0).
  return [...templates].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** GET /templates and /organizations/{org}/templates with the `q` filter. */
function listTemplates(req: Req, forcedOrgId: string | null): Reply {
  const { state } = req.app;
  const { user } = req.actor;
  const message = 'Invalid template search query.';
  const terms = parseSearch((req.query.get('q') ?? '').toLowerCase(), (term, t) => {
    t.add('display_name', term);
  }, message);
  let orgId = forcedOrgId;
  const orgTerm = terms.str('organization');
  if (orgTerm !== '') {
    const org = state.orgByParam(orgTerm);
    if (!org || !canReadOrg(user, org.id)) terms.fail('organization', `Organization "${orgTerm}" either does not exist, or you are unauthorized to view it`);
    else if (orgId === null) orgId = org.id;
    else if (orgId !== org.id) orgId = '';
  }
  const exactName = terms.str('exact_name');
  const fuzzyName = terms.str('name');
  const displayName = terms.str('display_name');
  const exactDisplayName = terms.str('exact_display_name');
  let authorId = terms.str('author_id');
  if (authorId !== '' && !isUUID(authorId)) terms.fail('author_id', `Query param "author_id" must be a valid uuid`);
  const author = terms.str('author');
  if (author !== '') {
    const found = state.userByParam(author, user);
    if (found) authorId = found.id;
    else terms.fail('author', `User "${author}" either does not exist, or you are unauthorized to view them`);
  }
  const ids = terms.uuids('ids');
  const deprecated = terms.bool('deprecated');
  const deleted = terms.bool('deleted') ?? false;
  const hasAITask = terms.bool('has-ai-task');
  const hasExternalAgent = terms.bool('has_external_agent');
  terms.finish(message);

  const matches = state.templates.filter(
    (t) =>
      t.deleted === deleted &&
      canReadOrg(user, t.organization_id) &&
      (orgId === null || t.organization_id === orgId) &&
      (exactName === '' || t.name.toLowerCase() === exactName) &&
      (fuzzyName === '' || t.name.toLowerCase().includes(fuzzyName)) &&
      (displayName === '' || t.display_name.toLowerCase().includes(displayName)) &&
      (exactDisplayName === '' || t.display_name.toLowerCase() === exactDisplayName) &&
      (authorId === '' || t.created_by_id === authorId.toLowerCase()) &&
      (ids.length === 0 || ids.includes(t.id)) &&
      (deprecated === null || (t.deprecation_message !== '') === deprecated) &&
      hasAITask !== true &&
      hasExternalAgent !== true,
  );
  return { status: 200, json: sortTemplates(matches).map((t) => templateView(state, t)) };
}

function getTemplateByName(req: Req): Reply {
  const org = orgParam(req);
  const template = req.app.state.templateByName(org.id, req.param('templatename'));
  if (!template) throw notFound();
  return { status: 200, json: templateView(req.app.state, template) };
}

function getTemplate(req: Req): Reply {
  return { status: 200, json: templateView(req.app.state, templateParam(req)) };
}

function checkWeekdays(field: string, days: string[] | undefined, problems: ValidationError[]): void {
  for (const day of days ?? []) {
    if (!WEEKDAYS.includes(day.toLowerCase())) problems.push({ field, detail: `invalid weekday "${day}"` });
  }
}

function nonNegative(field: string, value: number | undefined, problems: ValidationError[], minimumWhenSet = 0): void {
  if (value === undefined) return;
  if (value < 0) problems.push({ field, detail: 'Must be a positive integer.' });
  else if (value > 0 && value < minimumWhenSet) problems.push({ field, detail: 'Must be at least one minute.' });
}

function oneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}

function checkDescription(description: string | undefined, problems: ValidationError[]): void {
  if (description !== undefined && Buffer.byteLength(description) >= 128) problems.push(tagFailure('description', 'lt', description));
}

async function createTemplate(req: Req): Promise<Reply> {
  requireTemplateAdmin(req);
  const { state } = req.app;
  const org = orgParam(req);
  const body = await req.json();
  const name = body.str('name') ?? '';
  const displayName = body.str('display_name') ?? '';
  const description = body.str('description');
  const versionId = body.uuid('template_version_id');
  const tagProblems: ValidationError[] = [];
  if (!nameValid(name)) tagProblems.push(tagFailure('name', name === '' ? 'required' : 'template_name', name));
  if (!displayNameValid(displayName)) tagProblems.push(tagFailure('display_name', 'template_display_name', displayName));
  checkDescription(description, tagProblems);
  if (versionId === undefined) tagProblems.push(tagFailure('template_version_id', 'required', '00000000-0000-0000-0000-000000000000'));
  if (tagProblems.length > 0 || versionId === undefined) throw validationFailed(tagProblems);

  if (state.templateByName(org.id, name)) {
    throw new ApiError(409, `Template with name "${name}" already exists.`, {
      validations: [{ field: 'name', detail: 'This value is already in use and should be unique.' }],
    });
  }
  const version = state.versions.get(versionId);
  if (!version || !canReadOrg(req.actor.user, version.organization_id)) {
    throw new ApiError(404, `Template version "${versionId}" does not exist.`, {
      validations: [{ field: 'template_version_id', detail: 'Template version does not exist' }],
    });
  }
  if (version.organization_id !== org.id) {
    throw badRequest(`Template version "${versionId}" does not belong to organization "${org.name}".`, [
      { field: 'template_version_id', detail: 'Template version belongs to another organization' },
    ]);
  }
  if (version.template_id !== null) {
    throw badRequest(`Template version ${versionId} is already part of a template`, [
      { field: 'template_version_id', detail: 'Template version is already part of a template' },
    ]);
  }
  if (version.archived) throw badRequest(`Template version ${versionId} is archived.`);

  const problems: ValidationError[] = [];
  nonNegative('default_ttl_ms', body.int('default_ttl_ms'), problems);
  nonNegative('activity_bump_ms', body.int('activity_bump_ms'), problems);
  nonNegative('failure_ttl_ms', body.int('failure_ttl_ms'), problems);
  nonNegative('dormant_ttl_ms', body.int('dormant_ttl_ms'), problems);
  nonNegative('delete_ttl_ms', body.int('delete_ttl_ms'), problems);
  const autostop = body.obj('autostop_requirement');
  const autostart = body.obj('autostart_requirement');
  checkWeekdays('autostop_requirement.days_of_week', autostop?.strArray('days_of_week'), problems);
  checkWeekdays('autostart_requirement.days_of_week', autostart?.strArray('days_of_week'), problems);
  const portShare = body.str('max_port_share_level') ?? 'owner';
  if (!oneOf(PORT_SHARE_LEVELS, portShare)) problems.push({ field: 'max_port_share_level', detail: `invalid port share level "${portShare}"` });
  const cors = body.str('cors_behavior') ?? 'simple';
  if (!oneOf(CORS_BEHAVIORS, cors)) problems.push({ field: 'cors_behavior', detail: `invalid cors behavior "${cors}"` });
  if (state.edition === 'agpl' && body.has('max_port_share_level')) problems.push({ field: 'max_port_share_level', detail: PORT_SHARING_ENTERPRISE });
  if (problems.length > 0 || !oneOf(PORT_SHARE_LEVELS, portShare) || !oneOf(CORS_BEHAVIORS, cors)) {
    throw badRequest('Invalid create template request.', problems);
  }

  const template = state.createTemplate({
    organization_id: org.id,
    name,
    display_name: displayName,
    description: description ?? '',
    icon: body.str('icon') ?? '',
    provisioner: state.jobOf(version).provisioner,
    active_version_id: version.id,
    created_by_id: req.actor.user.id,
    default_ttl_ms: body.int('default_ttl_ms') ?? 0,
    activity_bump_ms: body.int('activity_bump_ms') ?? 3_600_000,
    autostop_requirement: { days_of_week: (autostop?.strArray('days_of_week') ?? []).map((d) => d.toLowerCase()), weeks: Math.max(1, autostop?.int('weeks') ?? 1) },
    autostart_requirement: { days_of_week: (autostart?.strArray('days_of_week') ?? WEEKDAYS).map((d) => d.toLowerCase()) },
    allow_user_autostart: body.bool('allow_user_autostart') ?? true,
    allow_user_autostop: body.bool('allow_user_autostop') ?? true,
    allow_user_cancel_workspace_jobs: body.bool('allow_user_cancel_workspace_jobs') ?? false,
    failure_ttl_ms: body.int('failure_ttl_ms') ?? 0,
    time_til_dormant_ms: body.int('dormant_ttl_ms') ?? 0,
    time_til_dormant_autodelete_ms: body.int('delete_ttl_ms') ?? 0,
    require_active_version: body.bool('require_active_version') ?? false,
    max_port_share_level: portShare,
    cors_behavior: cors,
    use_classic_parameter_flow: body.bool('template_use_classic_parameter_flow') ?? false,
  });
  if (state.edition === 'agpl') Object.assign(template, structuredClone(AGPL_SCHEDULING));
  return { status: 201, json: templateView(state, template) };
}

/** Resolves PATCH fields against the current template (absent non-pointer fields become zero). */
function resolvePatch(t: TemplateRecord, body: Body): TemplateRecord {
  const autostop = body.obj('autostop_requirement');
  const autostart = body.obj('autostart_requirement');
  const name = body.str('name') ?? '';
  const portShare = body.str('max_port_share_level');
  const cors = body.str('cors_behavior');
  return {
    ...t,
    name: name === '' ? t.name : name,
    display_name: body.str('display_name') ?? t.display_name,
    description: body.str('description') ?? t.description,
    icon: body.str('icon') ?? t.icon,
    default_ttl_ms: body.int('default_ttl_ms') ?? 0,
    activity_bump_ms: body.int('activity_bump_ms') ?? 0,
    autostop_requirement: autostop
      ? { days_of_week: (autostop.strArray('days_of_week') ?? []).map((d) => d.toLowerCase()), weeks: Math.max(1, autostop.int('weeks') ?? 1) }
      : t.autostop_requirement,
    autostart_requirement: autostart
      ? { days_of_week: (autostart.strArray('days_of_week') ?? []).map((d) => d.toLowerCase()) }
      : t.autostart_requirement,
    allow_user_autostart: body.bool('allow_user_autostart') ?? false,
    allow_user_autostop: body.bool('allow_user_autostop') ?? false,
    allow_user_cancel_workspace_jobs: body.bool('allow_user_cancel_workspace_jobs') ?? false,
    failure_ttl_ms: body.int('failure_ttl_ms') ?? 0,
    time_til_dormant_ms: body.int('time_til_dormant_ms') ?? 0,
    time_til_dormant_autodelete_ms: body.int('time_til_dormant_autodelete_ms') ?? 0,
    require_active_version: body.bool('require_active_version') ?? false,
    deprecation_message: body.str('deprecation_message') ?? t.deprecation_message,
    max_port_share_level: portShare !== undefined && oneOf(PORT_SHARE_LEVELS, portShare) ? portShare : t.max_port_share_level,
    cors_behavior: cors !== undefined && oneOf(CORS_BEHAVIORS, cors) ? cors : t.cors_behavior,
    use_classic_parameter_flow: body.bool('use_classic_parameter_flow') ?? t.use_classic_parameter_flow,
  };
}

function sameTemplate(a: TemplateRecord, b: TemplateRecord): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function patchTemplate(req: Req): Promise<Reply> {
  requireTemplateAdmin(req);
  const { state } = req.app;
  const template = templateParam(req);
  const body = await req.json();

  const tagProblems: ValidationError[] = [];
  const name = body.str('name') ?? '';
  if (name !== '' && !nameValid(name)) tagProblems.push(tagFailure('name', 'template_name', name));
  const displayName = body.str('display_name');
  if (displayName !== undefined && !displayNameValid(displayName)) tagProblems.push(tagFailure('display_name', 'template_display_name', displayName));
  checkDescription(body.str('description'), tagProblems);
  if (tagProblems.length > 0) throw validationFailed(tagProblems);

  const problems: ValidationError[] = [];
  nonNegative('default_ttl_ms', body.int('default_ttl_ms'), problems);
  nonNegative('activity_bump_ms', body.int('activity_bump_ms'), problems);
  nonNegative('failure_ttl_ms', body.int('failure_ttl_ms'), problems, MIN_TTL_MS);
  nonNegative('time_til_dormant_ms', body.int('time_til_dormant_ms'), problems, MIN_TTL_MS);
  nonNegative('time_til_dormant_autodelete_ms', body.int('time_til_dormant_autodelete_ms'), problems, MIN_TTL_MS);
  const autostop = body.obj('autostop_requirement');
  checkWeekdays('autostop_requirement.days_of_week', autostop?.strArray('days_of_week'), problems);
  const weeks = autostop?.int('weeks');
  if (weeks !== undefined && (weeks < 0 || weeks > MAX_AUTOSTOP_WEEKS)) {
    problems.push({ field: 'autostop_requirement.weeks', detail: `Must be between 0 and ${MAX_AUTOSTOP_WEEKS}.` });
  }
  checkWeekdays('autostart_requirement.days_of_week', body.obj('autostart_requirement')?.strArray('days_of_week'), problems);
  const portShare = body.str('max_port_share_level');
  if (portShare !== undefined && !oneOf(PORT_SHARE_LEVELS, portShare)) problems.push({ field: 'max_port_share_level', detail: `invalid port share level "${portShare}"` });
  const cors = body.str('cors_behavior');
  if (cors !== undefined && !oneOf(CORS_BEHAVIORS, cors)) problems.push({ field: 'cors_behavior', detail: `invalid cors behavior "${cors}"` });
  const agpl = state.edition === 'agpl';
  // coderd's typo: the field is reported as max_port_sharing_level.
  if (agpl && portShare !== undefined && portShare !== 'public') problems.push({ field: 'max_port_sharing_level', detail: PORT_SHARING_ENTERPRISE });
  if (problems.length > 0) throw badRequest('Invalid request to update template metadata!', problems);

  const next = resolvePatch(template, body);
  // AGPL shows every level as public, so a client sending back what it read changes nothing.
  if (agpl) next.max_port_share_level = template.max_port_share_level;
  if (sameTemplate(next, template)) return { status: 304 };
  // AGPL's template schedule store keeps none of the enterprise settings (the PATCH still answers 200).
  if (agpl) Object.assign(next, Object.fromEntries(Object.keys(AGPL_SCHEDULING).map((k) => [k, template[k as keyof typeof AGPL_SCHEDULING]])));
  const clash = state.templateByName(template.organization_id, next.name);
  if (clash && clash.id !== template.id) {
    throw new ApiError(409, `Template with name "${next.name}" already exists.`, {
      validations: [{ field: 'name', detail: 'This value is already in use and should be unique.' }],
    });
  }
  Object.assign(template, next, { updated_at: new Date().toISOString() });
  return { status: 200, json: templateView(state, template) };
}

async function promoteVersion(req: Req): Promise<Reply> {
  requireTemplateAdmin(req);
  const { state } = req.app;
  const template = templateParam(req);
  const id = (await req.json()).uuid('id');
  if (id === undefined) throw validationFailed([tagFailure('id', 'required', '00000000-0000-0000-0000-000000000000')]);
  const version = state.versions.get(id);
  if (!version) throw new ApiError(404, 'Template version not found.');
  if (version.template_id !== template.id) throw badRequest("The provided template version doesn't belong to the specified template.");
  if (jobStatus(state.jobOf(version)) !== 'succeeded') {
    throw new ApiError(403, 'Only versions that have been built successfully can be promoted.', {
      detail: `Attempted to promote a version with a ${jobStatus(state.jobOf(version))} build`,
    });
  }
  if (version.archived) throw badRequest('The provided template version is archived.');
  template.active_version_id = version.id;
  template.updated_at = new Date().toISOString();
  return { status: 200, json: { message: 'Updated the active template version!' } };
}

function deleteTemplate(req: Req): Reply {
  requireTemplateAdmin(req);
  const { state } = req.app;
  const template = templateParam(req);
  const inUse = state.workspaces.some((w) => w.template_id === template.id && !w.deleted);
  if (inUse) throw badRequest('All workspaces must be deleted before a template can be removed.');
  template.deleted = true;
  template.updated_at = new Date().toISOString();
  return { status: 200, json: { message: 'Template has been deleted!' } };
}

export const templateRoutes: Route[] = [
  { method: 'GET', path: '/templates', handler: (req) => listTemplates(req, null) },
  { method: 'GET', path: '/organizations/{organization}/templates', handler: (req) => listTemplates(req, orgParam(req).id) },
  { method: 'POST', path: '/organizations/{organization}/templates', handler: createTemplate },
  { method: 'GET', path: '/organizations/{organization}/templates/{templatename}', handler: getTemplateByName },
  { method: 'GET', path: '/templates/{template}', handler: getTemplate },
  { method: 'PATCH', path: '/templates/{template}', handler: patchTemplate },
  { method: 'DELETE', path: '/templates/{template}', handler: deleteTemplate },
  { method: 'PATCH', path: '/templates/{template}/versions', handler: promoteVersion },
];
