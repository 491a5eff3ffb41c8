// Template versions and their import jobs (coderd/templateversions.go). The
// uploaded archive is unpacked at creation so fail markers decide the outcome.
import type { ValidationError } from '../../../../pkg/coder/types.ts';
import { canManageTemplates } from '../auth.ts';
import { ApiError, badRequest, forbidden, notFound, tagFailure, validationFailed } from '../errors.ts';
import { randomName } from '../random.ts';
import type { Reply, Req, Route } from '../server.ts';
import { buildFailure, importFailure, readTar, readme, slowBuild } from '../tar.ts';
import type { ArchiveEntry } from '../tar.ts';
import type { PlannedFailure } from '../state.ts';
import { versionView } from '../views.ts';
import { paginate, parseBoolParam, parsePagination, versionNameValid } from '../validate.ts';
import { cancelJob, jobLogs } from './jobs.ts';
import { orgParam, templateParam, versionParam } from './params.ts';

const MAX_MESSAGE_BYTES = 1 << 20;

async function createVersion(req: Req): Promise<Reply> {
  if (!canManageTemplates(req.actor.user)) throw forbidden();
  const { state, jobs } = req.app;
  const org = orgParam(req);
  const body = await req.json();
  const storageMethod = body.str('storage_method') ?? '';
  const provisioner = body.str('provisioner') ?? '';
  const name = body.str('name') ?? '';
  const message = body.str('message') ?? '';
  const fileId = body.uuid('file_id');
  const exampleId = body.str('example_id') ?? '';
  const templateId = body.uuid('template_id');
  const tags = body.stringMap('tags') ?? null;

  const problems: ValidationError[] = [];
  if (storageMethod !== 'file') problems.push(tagFailure('storage_method', storageMethod === '' ? 'required' : 'oneof', storageMethod));
  if (provisioner !== 'terraform' && provisioner !== 'echo') problems.push(tagFailure('provisioner', provisioner === '' ? 'required' : 'oneof', provisioner));
  if (name !== '' && !versionNameValid(name)) problems.push(tagFailure('name', 'template_version_name', name));
  if (problems.length > 0 || (provisioner !== 'terraform' && provisioner !== 'echo')) throw validationFailed(problems);
  if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES) throw validationFailed([tagFailure('message', 'lt', '…')]);

  if (fileId !== undefined && exampleId !== '') throw badRequest('You cannot specify both an example_id and a file_id.');
  if (fileId === undefined && exampleId === '') throw badRequest('You must specify either an example_id or a file_id.');
  // Built-in examples are not bundled with the fake.
  if (fileId === undefined) throw new ApiError(404, `Example not found by id "${exampleId}".`);

  let template = null;
  if (templateId !== undefined) {
    template = state.templates.get(templateId) ?? null;
    if (!template || template.deleted || template.organization_id !== org.id) throw new ApiError(404, 'Template does not exist.');
  }
  const versionName = name === '' ? randomName() : name;
  // Case-sensitive, unlike template and workspace names (a plain unique index on (template_id, name)).
  if (template && state.versionsOf(template.id).some((v) => v.name === versionName)) {
    throw new ApiError(409, `A template version with name "${versionName}" already exists for this template.`, {
      validations: [{ field: 'name', detail: 'This value is already in use and should be unique.' }],
    });
  }
  const file = state.files.get(fileId);
  if (!file) throw new ApiError(404, 'File not found.');

  let entries: ArchiveEntry[] = [];
  let unpackError: PlannedFailure | null = null;
  try {
    entries = await readTar(file.data);
  } catch (err) {
    unpackError = { error: `unpack archive: ${err instanceof Error ? err.message : String(err)}` };
  }
  const version = state.createVersion({
    organizationId: org.id,
    templateId: template?.id ?? null,
    name: versionName,
    message,
    fileId: file.id,
    createdBy: req.actor.user.id,
    provisioner,
    tags,
    readme: readme(entries),
    importFailure: unpackError ?? importFailure(entries),
    buildFailure: buildFailure(entries),
    slowBuild: slowBuild(entries),
  });
  jobs.enqueue(state.jobOf(version));
  return { status: 201, json: versionView(state, version, { created: true }) };
}

function getVersion(req: Req): Reply {
  return { status: 200, json: versionView(req.app.state, versionParam(req)) };
}

function listVersions(req: Req): Reply {
  const { state } = req.app;
  const template = templateParam(req);
  const page = parsePagination(req.query);
  const includeArchived = parseBoolParam(req.query, 'include_archived') ?? false;
  const versions = state.versionsOf(template.id).filter((v) => includeArchived || !v.archived);
  return { status: 200, json: paginate(versions, page, (v) => v.id).map((v) => versionView(state, v)) };
}

function getVersionByName(req: Req): Reply {
  const { state } = req.app;
  const template = templateParam(req);
  const wanted = req.param('templateversionname');
  const version = state.versionsOf(template.id).find((v) => v.name === wanted);
  if (!version) throw new ApiError(404, `No template version found by name "${wanted}".`);
  return { status: 200, json: versionView(state, version) };
}

function cancelVersion(req: Req): Reply {
  const version = versionParam(req);
  if (!canManageTemplates(req.actor.user)) throw notFound();
  return cancelJob(req, req.app.state.jobOf(version));
}

export const templateVersionRoutes: Route[] = [
  { method: 'GET', path: '/templateversions/{templateversion}/logs', handler: (req) => jobLogs(req, req.app.state.jobOf(versionParam(req))) },
  { method: 'PATCH', path: '/templateversions/{templateversion}/cancel', handler: cancelVersion },
  { method: 'POST', path: '/organizations/{organization}/templateversions', handler: createVersion },
  { method: 'GET', path: '/templateversions/{templateversion}', handler: getVersion },
  { method: 'GET', path: '/templates/{template}/versions', handler: listVersions },
  { method: 'GET', path: '/templates/{template}/versions/{templateversionname}', handler: getVersionByName },
];
