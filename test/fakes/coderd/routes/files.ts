// Template source archives (coderd/files.go). Zip uploads are converted to
// tar before hashing, like coderd; `?format=zip` converts back on download.
import { hasRole } from '../auth.ts';
import { ApiError, badRequest, notFound } from '../errors.ts';
import type { Reply, Req, Route } from '../server.ts';
import { packTar, readTar } from '../tar.ts';
import { parseGoBool, parseUUIDParam } from '../validate.ts';
import { readZip, writeZip } from '../zip.ts';

export const MAX_FILE_BYTES = 100 * 1024 * 1024;
export const TAR_TYPE = 'application/x-tar';
export const ZIP_TYPE = 'application/zip';
/** Both are converted to tar on upload (Windows names zips application/x-zip-compressed). */
const ZIP_TYPES = [ZIP_TYPE, 'application/x-zip-compressed'];

async function postFile(req: Req): Promise<Reply> {
  const { user } = req.actor;
  // The /files limiter runs after auth, so only here can a non-owner trip the bypass check.
  if (parseGoBool(req.header('x-coder-bypass-ratelimit') ?? '') === true && !user.roles.includes('owner')) {
    return {
      status: 428,
      raw: { data: Buffer.from('"X-Coder-Bypass-Ratelimit" provided but user is not owner\n'), contentType: 'text/plain; charset=utf-8' },
    };
  }
  const contentType = req.header('content-type') ?? '';
  if (contentType !== TAR_TYPE && !ZIP_TYPES.includes(contentType)) {
    throw badRequest(`Unsupported content type header "${contentType}".`);
  }
  let data = await req.raw(MAX_FILE_BYTES);
  if (data === null) throw badRequest('Failed to read file from request.', undefined, 'http: request body too large');
  if (ZIP_TYPES.includes(contentType)) {
    try {
      const files = readZip(data).filter((e) => e.type === 'file');
      data = await packTar(Object.fromEntries(files.map((e) => [e.name, e.data])));
    } catch (err) {
      throw badRequest('Incomplete .zip archive file.', undefined, err instanceof Error ? err.message : String(err));
    }
  }
  const { file, created } = req.app.state.createFile(user.id, TAR_TYPE, data);
  return { status: created ? 201 : 200, json: { hash: file.id } };
}

async function getFile(req: Req): Promise<Reply> {
  const file = req.app.state.files.get(parseUUIDParam(req.param('fileID')));
  const { user } = req.actor;
  if (!file || (file.created_by !== user.id && !hasRole(user, 'template-admin', 'auditor'))) throw notFound();
  const format = req.query.get('format') ?? '';
  if (format === '') return { status: 200, raw: { data: file.data, contentType: file.mimetype } };
  if (format !== 'zip') throw new ApiError(400, 'Unsupported conversion format.', { detail: `format "${format}" is not supported` });
  if (file.mimetype !== TAR_TYPE) throw badRequest('Only .tar files can be converted to .zip format');
  try {
    return { status: 200, raw: { data: writeZip(await readTar(file.data)), contentType: ZIP_TYPE } };
  } catch (err) {
    throw new ApiError(500, 'Failed to convert tar file to zip.', { detail: err instanceof Error ? err.message : String(err) });
  }
}

export const fileRoutes: Route[] = [
  { method: 'POST', path: '/files', handler: postFile },
  { method: 'GET', path: '/files/{fileID}', handler: getFile },
];
