// Shared by the contract scenarios: template sources both Coders accept, uploads, and
// polling that records every status a job goes through.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProvisionerJob, ProvisionerJobLog, TemplateVersion, WorkspaceBuild } from '../../pkg/coder/types.ts';
import { FAIL_IMPORT_MARKER, SLOW_BUILD_MARKER } from '../fakes/coderd/index.ts';
import { createVersion as createVersionOf, uploadFiles, type Api, type ApiResponse } from '../fakes/coderd/testutil.ts';

/** Terraform's built-in resource (≥ 1.4): nothing to download, so a real Coder builds it offline. */
export const OK_TF = 'resource "terraform_data" "x" {}\n';

/**
 * Invalid HCL for real terraform, and the fake's failure marker on the same line: both fail the
 * import, both name main.tf line 2 in their log.
 */
export const BROKEN_TF = `resource "terraform_data" "x" {\n  this is not valid hcl # ${FAIL_IMPORT_MARKER}\n}\n`;

/**
 * A build that takes long, so it can be canceled while running: a local-exec sleep (built into
 * terraform) on a real Coder, the slow-build marker on the fake. Imports stay quick (terraform
 * plans; only apply runs the provisioner).
 */
export const SLOW_TF = `# ${SLOW_BUILD_MARKER}\nresource "terraform_data" "x" {\n  provisioner "local-exec" {\n    command = "sleep 60"\n  }\n}\n`;

export const TAR = 'application/x-tar';

let unique = 0;
/** A name no other scenario of this process uses (Coder names: letters, digits, hyphens, ≤ 32). */
export function uniqueName(prefix: string): string {
  unique += 1;
  return `${prefix}-${String(process.pid % 1000)}-${String(unique)}`;
}

/** Sends raw bytes (an archive) with a content type. */
export function upload(api: Api, data: Buffer, contentType: string | null): Promise<ApiResponse> {
  return api.call('POST', '/files', { raw: data, headers: contentType === null ? {} : { 'Content-Type': contentType } });
}

/** Uploads `main.tf` (plus a comment making the bytes unique) as a tar and returns the file id. */
export function uploadTemplate(api: Api, mainTf: string, salt = uniqueName('f')): Promise<string> {
  return uploadFiles(api, { 'main.tf': `${mainTf}# ${salt}\n` });
}

/** POST /organizations/coder/templateversions from a template source (unique bytes); the 201 body. */
export function createVersion(api: Api, mainTf: string, extra: Record<string, unknown> = {}): Promise<TemplateVersion> {
  return createVersionOf(api, 'coder', { 'main.tf': `${mainTf}# ${uniqueName('f')}\n` }, extra);
}

const ACTIVE = new Set(['pending', 'running', 'canceling']);

/**
 * Polls `read` every 10 ms (a status may last only a few hundred ms) until `done` holds or the
 * deadline passes, and returns every distinct consecutive status seen with the last value.
 */
export async function follow<T>(
  what: string,
  read: () => Promise<T>,
  status: (value: T) => string,
  done: (value: T) => boolean = (v) => !ACTIVE.has(status(v)),
  timeoutMs = 30_000,
): Promise<{ statuses: string[]; last: T }> {
  const deadline = Date.now() + timeoutMs;
  const statuses: string[] = [];
  for (;;) {
    const value = await read();
    const s = status(value);
    if (statuses.at(-1) !== s) statuses.push(s);
    if (done(value)) return { statuses, last: value };
    if (Date.now() > deadline) throw new Error(`timed out after ${String(timeoutMs)}ms waiting for ${what} (statuses seen: ${statuses.join(' → ')})`);
    await sleep(10);
  }
}

async function getOk<T>(api: Api, path: string): Promise<T> {
  const res = await api.get(path);
  if (res.status !== 200) throw new Error(`GET ${path}: ${String(res.status)} ${res.text}`);
  return res.body as T;
}

/** Follows a template version's import job to its end. */
export function followImport(api: Api, versionId: string, done?: (v: TemplateVersion) => boolean): Promise<{ statuses: string[]; last: TemplateVersion }> {
  return follow(`import of ${versionId}`, () => getOk<TemplateVersion>(api, `/templateversions/${versionId}`), (v) => v.job.status, done);
}

/** Follows a workspace build to its end; statuses are `job.status/build.status`. */
export function followBuild(api: Api, buildId: string, done?: (b: WorkspaceBuild) => boolean): Promise<{ statuses: string[]; last: WorkspaceBuild }> {
  return follow(`build ${buildId}`, () => getOk<WorkspaceBuild>(api, `/workspacebuilds/${buildId}`), (b) => `${b.job.status}/${b.status}`, done ?? ((b) => !ACTIVE.has(b.job.status)));
}

/** A version that finished importing (succeeded or failed), from a template source. */
export async function importedVersion(api: Api, mainTf: string, extra: Record<string, unknown> = {}): Promise<TemplateVersion> {
  const created = await createVersion(api, mainTf, extra);
  return (await followImport(api, created.id)).last;
}

/** A template (random name) on a freshly imported version of `mainTf`. */
export async function createTemplate(api: Api, mainTf = OK_TF): Promise<{ id: string; name: string; active_version_id: string }> {
  const version = await importedVersion(api, mainTf);
  const res = await api.post('/organizations/coder/templates', { name: uniqueName('t'), template_version_id: version.id });
  if (res.status !== 201) throw new Error(`create template: ${String(res.status)} ${res.text}`);
  return res.body as { id: string; name: string; active_version_id: string };
}

/** Sorted keys: shapes are compared as key sets, values where they must agree. */
export function keys(value: unknown): string[] {
  return Object.keys(value as object).sort();
}

/** Keys of `value` without the optional ones, for shapes where a key comes and goes. */
export function keysWithout(value: unknown, optional: readonly string[]): string[] {
  return keys(value).filter((k) => !optional.includes(k));
}

/** The job statuses that still count as active (a build or import in progress). */
export function isActive(job: Pick<ProvisionerJob, 'status'>): boolean {
  return ACTIVE.has(job.status);
}

/** The fields every ProvisionerJobLog has, with their JSON types. */
export function expectLogShape(log: ProvisionerJobLog): void {
  const shape = Object.fromEntries(Object.entries(log).map(([k, v]) => [k, typeof v]));
  if (JSON.stringify(shape) !== JSON.stringify({ id: 'number', created_at: 'string', log_source: 'string', log_level: 'string', stage: 'string', output: 'string' })) {
    throw new Error(`unexpected ProvisionerJobLog shape: ${JSON.stringify(log)}`);
  }
}
