import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CoderResponse, Organization, ProvisionerJobLog, Template, TemplateVersion } from '../../../pkg/coder/types.ts';
import { FAIL_IMPORT_MARKER, packTar, readTar, startFakeCoder } from './index.ts';
import type { FakeCoder } from './index.ts';
import { Api, createVersion, uploadFiles, waitFor, waitForImport } from './testutil.ts';
import { writeZip } from './zip.ts';

describe('fake coderd: files and template versions', () => {
  let fake: FakeCoder;
  let api: Api;
  let coder: Organization;
  let docker: Template;

  beforeAll(async () => {
    // A long running phase so polling reliably observes it.
    fake = await startFakeCoder({ buildTimings: { pendingMs: 20, runningMs: 250 } });
    api = new Api(fake);
    coder = (await api.get('/organizations/coder')).body as Organization;
    docker = (await api.get('/organizations/coder/templates/docker')).body as Template;
  });
  afterAll(async () => {
    await fake.close();
  });

  it('uploads tars: 201 when new, 200 with the same id for the same bytes and user', async () => {
    const tar = await packTar({ 'main.tf': '# upload test\n' });
    const first = await api.call('POST', '/files', { raw: tar, headers: { 'Content-Type': 'application/x-tar' } });
    expect(first.status).toBe(201);
    const again = await api.call('POST', '/files', { raw: tar, headers: { 'Content-Type': 'application/x-tar' } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const wrongType = await api.call('POST', '/files', { raw: tar, headers: { 'Content-Type': 'text/plain' } });
    expect(wrongType.status).toBe(400);
    expect((wrongType.body as CoderResponse).message).toBe('Unsupported content type header "text/plain".');
  });

  it('serves seeded template sources as real tars', async () => {
    const version = (await api.get(`/templateversions/${docker.active_version_id}`)).body as TemplateVersion;
    expect(version.job.status).toBe('succeeded');
    const res = await fetch(`${fake.url}/api/v2/files/${version.job.file_id}`, { headers: { 'Coder-Session-Token': fake.adminToken } });
    expect(res.headers.get('content-type')).toBe('application/x-tar');
    const entries = await readTar(Buffer.from(await res.arrayBuffer()));
    const mainTf = entries.find((e) => e.name === 'main.tf');
    expect(mainTf?.data.toString()).toContain('terraform');
    // A seeded version has the log of an import that ran, the same on every read.
    const logs = (await api.get(`/templateversions/${version.id}/logs`)).body as ProvisionerJobLog[];
    expect(logs[0]).toMatchObject({ stage: 'Setting up' });
    expect(logs.at(-1)).toMatchObject({ stage: 'Cleaning Up' });
    expect((await api.get(`/templateversions/${version.id}/logs`)).body).toEqual(logs);
  });

  it('converts zip uploads to tar', async () => {
    const zip = writeZip([{ name: 'main.tf', type: 'file', data: Buffer.from('# zipped\n') }]);
    const res = await api.call('POST', '/files', { raw: zip, headers: { 'Content-Type': 'application/zip' } });
    expect(res.status).toBe(201);
    const file = await fetch(`${fake.url}/api/v2/files/${(res.body as { hash: string }).hash}`, { headers: { 'Coder-Session-Token': fake.adminToken } });
    expect(file.headers.get('content-type')).toBe('application/x-tar');
    const entries = await readTar(Buffer.from(await file.arrayBuffer()));
    expect(entries.map((e) => [e.name, e.data.toString()])).toEqual([['main.tf', '# zipped\n']]);
  });

  it('imports a version pending → running → succeeded on timers', async () => {
    const created = await createVersion(api, coder.id, { 'main.tf': '# import\n', 'README.md': '# Hello\n' });
    expect(created.job.status).toBe('pending');
    expect(created.template_id).toBe('00000000-0000-0000-0000-000000000000');
    expect(created.name).toMatch(/^[a-z]+_[a-z]+\d$/);
    const seen = new Set<string>([created.job.status]);
    const done = await waitFor('import to finish', async () => {
      const v = (await api.get(`/templateversions/${created.id}`)).body as TemplateVersion;
      seen.add(v.job.status);
      return v.job.status === 'succeeded' ? v : undefined;
    });
    expect([...seen]).toEqual(['pending', 'running', 'succeeded']);
    expect(done.job.started_at).toBeDefined();
    expect(done.job.completed_at).toBeDefined();
    expect(done.job.error).toBeUndefined();
    expect(done.readme).toBe('# Hello\n');
  });

  it('fails the import when a file contains the fail marker: a generic job.error, the line in the log', async () => {
    const created = await createVersion(api, coder.id, { 'main.tf': `resource "x" "y" {}\n# ${FAIL_IMPORT_MARKER}: broken provider\n` });
    const done = await waitForImport(api, created.id);
    expect(done.job.status).toBe('failed');
    expect(done.job.error).toBe('template import init error: initialize terraform: exit status 1');
    const errors = ((await api.get(`/templateversions/${created.id}/logs`)).body as ProvisionerJobLog[]).filter((l) => l.log_level === 'error').map((l) => l.output);
    expect(errors).toEqual(expect.arrayContaining([expect.stringMatching(/^Error: /), '  on main.tf line 2:', `   2: # ${FAIL_IMPORT_MARKER}: broken provider`]));
  });

  it('fails imports on demand with failNextJobs', async () => {
    fake.knobs.failNextJobs({ type: 'template_version_import', error: 'boom' });
    const done = await waitForImport(api, (await createVersion(api, coder.id, { 'main.tf': '# knob\n' })).id);
    expect(done.job).toMatchObject({ status: 'failed', error: 'boom' });
    const next = await waitForImport(api, (await createVersion(api, coder.id, { 'main.tf': '# knob 2\n' })).id);
    expect(next.job.status).toBe('succeeded');
  });

  it('promotes only succeeded versions of the same template', async () => {
    fake.knobs.pauseJobs();
    const pending = await createVersion(api, coder.id, { 'main.tf': '# v2\n' }, { template_id: docker.id, name: 'v2' });
    expect(pending.template_id).toBe(docker.id);
    const early = await api.patch(`/templates/${docker.id}/versions`, { id: pending.id });
    expect(early.status).toBe(403);
    expect((early.body as CoderResponse).message).toBe('Only versions that have been built successfully can be promoted.');
    const duplicate = await api.post(`/organizations/${coder.id}/templateversions`, {
      storage_method: 'file', provisioner: 'terraform', file_id: pending.job.file_id, template_id: docker.id, name: 'v2', tags: null,
    });
    expect(duplicate.status).toBe(409);
    fake.knobs.resumeJobs();
    await waitForImport(api, pending.id);

    const promoted = await api.patch(`/templates/${docker.id}/versions`, { id: pending.id });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toEqual({ message: 'Updated the active template version!' });
    expect(((await api.get(`/templates/${docker.id}`)).body as Template).active_version_id).toBe(pending.id);

    const kubernetes = (await api.get('/organizations/coder/templates/kubernetes')).body as Template;
    expect((await api.patch(`/templates/${kubernetes.id}/versions`, { id: pending.id })).status).toBe(400);

    const versions = (await api.get(`/templates/${docker.id}/versions`)).body as TemplateVersion[];
    expect(versions.map((v) => v.name)).toEqual(['v1', 'v2']);
    expect(((await api.get(`/templates/${docker.id}/versions?limit=1&offset=1`)).body as TemplateVersion[]).map((v) => v.name)).toEqual(['v2']);
  });

  it('validates version requests', async () => {
    const fileId = await uploadFiles(api, { 'main.tf': '# validate\n' });
    const base = { storage_method: 'file', provisioner: 'terraform', file_id: fileId, tags: null };
    expect((await api.post(`/organizations/${coder.id}/templateversions`, { ...base, provisioner: 'pulumi' })).status).toBe(400);
    expect((await api.post(`/organizations/${coder.id}/templateversions`, { ...base, storage_method: 'url' })).status).toBe(400);
    const noFile = await api.post(`/organizations/${coder.id}/templateversions`, { ...base, file_id: '11111111-1111-1111-1111-111111111111' });
    expect(noFile.status).toBe(404);
    expect((noFile.body as CoderResponse).message).toBe('File not found.');
    const noTemplate = await api.post(`/organizations/${coder.id}/templateversions`, { ...base, template_id: '11111111-1111-1111-1111-111111111111' });
    expect(noTemplate.status).toBe(404);
    expect((await api.get('/templateversions/11111111-1111-1111-1111-111111111111')).status).toBe(404);
  });
});
