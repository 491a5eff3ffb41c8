// Path parameter resolution (coderd's httpmw.Extract*Param): malformed UUIDs
// are 400, unknown or unreadable objects 404, unknown `{user}` 400.
import type { Organization } from '../../../../pkg/coder/types.ts';
import { canReadOrg, canReadWorkspace } from '../auth.ts';
import { ApiError, notFound } from '../errors.ts';
import type { Req } from '../server.ts';
import type { BuildRecord, TemplateRecord, UserRecord, VersionRecord, WorkspaceRecord } from '../state.ts';
import { parseUUIDParam } from '../validate.ts';

export function userParam(req: Req, name = 'user'): UserRecord {
  const user = req.app.state.userByParam(req.param(name), req.actor.user);
  if (!user) throw new ApiError(400, '"user" must be an existing uuid or username.', { detail: `queried user="${req.param(name)}"` });
  return user;
}

export function orgParam(req: Req, name = 'organization'): Organization {
  const org = req.app.state.orgByParam(req.param(name));
  if (!org || !canReadOrg(req.actor.user, org.id)) throw notFound();
  return org;
}

export function templateParam(req: Req, name = 'template'): TemplateRecord {
  const template = req.app.state.templates.get(parseUUIDParam(req.param(name)));
  if (!template || template.deleted || !canReadOrg(req.actor.user, template.organization_id)) throw notFound();
  return template;
}

export function versionParam(req: Req, name = 'templateversion'): VersionRecord {
  const version = req.app.state.versions.get(parseUUIDParam(req.param(name)));
  if (!version || !canReadOrg(req.actor.user, version.organization_id)) throw notFound();
  return version;
}

/** Deleted workspaces resolve too; each handler decides (410, include_deleted...). */
export function workspaceParam(req: Req, name = 'workspace'): WorkspaceRecord {
  const workspace = req.app.state.workspaces.get(parseUUIDParam(req.param(name)));
  if (!workspace || !canReadWorkspace(req.actor.user, workspace)) throw notFound();
  return workspace;
}

export function buildParam(req: Req, name = 'workspacebuild'): BuildRecord {
  const build = req.app.state.builds.get(parseUUIDParam(req.param(name)));
  const workspace = build ? req.app.state.workspaces.get(build.workspace_id) : undefined;
  if (!build || !workspace || !canReadWorkspace(req.actor.user, workspace)) throw notFound();
  return build;
}
