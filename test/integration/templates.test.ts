import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CoderClient } from '../../pkg/coder/client.ts';
import { packTemplateFiles, unpackTemplateFiles } from '../../pkg/storage/template-files.ts';
import { TABLE, TEMPLATES, eventually, startHarness, type Harness } from './harness.ts';
import { request } from 'undici';
import { packTar } from '../fakes/coderd/index.ts';
import { coderCall } from '../util/out-of-band.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(async () => {
  await h.api.background.idle();
  await h.fake.reset();
});

const VERSIONS = 'POST /api/v2/organizations/{organization}/templateversions';
const PROMOTE = 'PATCH /api/v2/templates/{template}/versions';

function template(name: string, files: Record<string, string> | undefined, extra: Record<string, unknown> = {}) {
  const [organization = ''] = name.split('.');
  return {
    apiVersion: 'aggregation.coder.com/v1alpha1',
    kind: 'CoderTemplate',
    metadata: { name },
    spec: { organization, ...(files ? { files } : {}), ...extra },
  };
}

describe('CoderTemplate reads', () => {
  it('lists templates of every organization, sorted, without files', async () => {
    const res = await h.request('GET', TEMPLATES);
    expect(res.status).toBe(200);
    expect(res.body.kind).toBe('CoderTemplateList');
    expect(res.body.items.map((t: { metadata: { name: string } }) => t.metadata.name)).toEqual(['acme.python', 'coder.docker', 'coder.kubernetes']);
    for (const item of res.body.items) {
      expect(item.spec.files).toBeUndefined();
      expect(item.metadata).toMatchObject({ namespace: 'coder', uid: item.status.id, resourceVersion: expect.stringMatching(/^\d+$/) });
      expect(item.status.activeVersionBuild.status).toBe('succeeded');
    }
  });

  it('gets one template with its files and version', async () => {
    const res = await h.request('GET', `${TEMPLATES}/coder.docker`);
    expect(res.status).toBe(200);
    expect(res.body.spec).toMatchObject({ organization: 'coder', versionID: res.body.status.activeVersionID });
    expect(Object.keys(res.body.spec.files)).toContain('main.tf');
    expect(res.body.metadata.labels).toEqual({ 'aggregation.coder.com/organization': 'coder' });
  });

  it('keeps the resourceVersion stable while nothing changes', async () => {
    const a = await h.request('GET', `${TEMPLATES}/coder.docker`);
    const b = await h.request('GET', TEMPLATES);
    const listed = b.body.items.find((t: { metadata: { name: string } }) => t.metadata.name === 'coder.docker');
    expect(listed.metadata.resourceVersion).toBe(a.body.metadata.resourceVersion);
  });

  it('serves a Table with the documented columns', async () => {
    const res = await h.request('GET', TEMPLATES, { accept: TABLE });
    expect(res.body.kind).toBe('Table');
    expect(res.body.columnDefinitions.filter((c: { priority: number }) => c.priority === 0).map((c: { name: string }) => c.name)).toEqual([
      'Name',
      'Organization',
      'Active-Version',
      'Build',
      'Age',
    ]);
    expect(res.body.rows[1].cells.slice(0, 4)).toEqual(['coder.docker', 'coder', 'v1', 'succeeded']);
    expect(res.body.rows[1].object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'coder.docker' } });
    const one = await h.request('GET', `${TEMPLATES}/coder.docker?includeObject=None`, { accept: TABLE });
    expect(one.body.rows).toHaveLength(1);
    expect(one.body.rows[0].object).toBeUndefined();
  });

  it('filters with label and field selectors', async () => {
    const byOrg = await h.request('GET', `${TEMPLATES}?labelSelector=${encodeURIComponent('aggregation.coder.com/organization=acme')}`);
    expect(byOrg.body.items.map((t: { metadata: { name: string } }) => t.metadata.name)).toEqual(['acme.python']);
    const byName = await h.request('GET', `${TEMPLATES}?fieldSelector=metadata.name%3Dcoder.kubernetes`);
    expect(byName.body.items).toHaveLength(1);
    const bad = await h.request('GET', `${TEMPLATES}?fieldSelector=spec.icon%3Dx`);
    expect(bad.status).toBe(400);
  });

  it('pages with limit and continue', async () => {
    const first = await h.request('GET', `${TEMPLATES}?limit=2`);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.metadata.remainingItemCount).toBe(1);
    const second = await h.request('GET', `${TEMPLATES}?limit=2&continue=${encodeURIComponent(first.body.metadata.continue as string)}`);
    expect(second.body.items.map((t: { metadata: { name: string } }) => t.metadata.name)).toEqual(['coder.kubernetes']);
    expect(second.body.metadata.continue).toBeUndefined();
  });

  it('answers unknown names with 404 and malformed names with 400', async () => {
    const missing = await h.request('GET', `${TEMPLATES}/coder.nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('codertemplates.aggregation.coder.com "coder.nope" not found');
    expect((await h.request('GET', `${TEMPLATES}/nowhere.docker`)).status).toBe(404);
    const bad = await h.request('GET', `${TEMPLATES}/docker`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('<organization>.<template>');
  });

  it('lists all namespaces it serves', async () => {
    const res = await h.request('GET', '/apis/aggregation.coder.com/v1alpha1/codertemplates');
    expect(res.body.items).toHaveLength(3);
    // A namespace no Coder serves is simply empty.
    const other = await h.request('GET', '/apis/aggregation.coder.com/v1alpha1/namespaces/elsewhere/codertemplates');
    expect(other.status).toBe(200);
    expect(other.body.items).toEqual([]);
  });
});

describe('CoderTemplate writes', () => {
  it('creates a template from files: uploads, builds, promotes', async () => {
    const res = await h.request('POST', TEMPLATES, { body: template('coder.fresh', { 'main.tf': 'resource "null" "a" {}\n' }, { displayName: 'Fresh' }) });
    expect(res.status).toBe(201);
    expect(res.body.spec.files).toEqual({ 'main.tf': 'resource "null" "a" {}\n' });
    expect(res.body.spec.displayName).toBe('Fresh');
    expect(res.body.status.activeVersionBuild.status).toBe('succeeded');
    expect(h.fake.counters.get(VERSIONS)).toBe(1);
    const got = await h.request('GET', `${TEMPLATES}/coder.fresh`);
    expect(got.body.status.activeVersionID).toBe(res.body.status.activeVersionID);
  });

  it('creates a template from an existing version ID', async () => {
    const docker = await h.request('GET', `${TEMPLATES}/coder.docker`);
    const upload = await h.request('POST', TEMPLATES, { body: template('coder.fromfiles', docker.body.spec.files as Record<string, string>) });
    expect(upload.status).toBe(201);
    // A second template cannot reuse a version attached to another template: Coder says 400.
    const reuse = await h.request('POST', TEMPLATES, { body: template('coder.reuse', undefined, { versionID: upload.body.status.activeVersionID }) });
    expect(reuse.status).toBe(400);
  });

  it("fails a create whose build fails with 400 carrying the build error and Terraform's diagnostic from the log", async () => {
    const res = await h.request('POST', TEMPLATES, { body: template('coder.broken', { 'main.tf': '# coder-fake:fail\n' }) });
    expect(res.status).toBe(400);
    expect(res.body.reason).toBe('BadRequest');
    // Coder's job.error names the step; the log says what was wrong.
    expect(res.body.message).toContain('build failed: template import init error: initialize terraform: exit status 1\nError: ');
    expect(res.body.message).toContain('on main.tf line 1');
    expect(res.body.message).toContain('coder-fake:fail');
    expect(res.body.details.causes[0].message).toMatch(/^template import init error: .*\nError: /s);
    expect((await h.request('GET', `${TEMPLATES}/coder.broken`)).status).toBe(404);
  });

  it('updates files: a new version is built and promoted; identical files change nothing', async () => {
    await h.request('POST', TEMPLATES, { body: template('coder.evolve', { 'main.tf': 'v1' }) });
    const before = await h.request('GET', `${TEMPLATES}/coder.evolve`);
    const changed = structuredClone(before.body);
    changed.spec.files = { 'main.tf': 'v2', 'extra/README.md': '# hi' };
    const put = await h.request('PUT', `${TEMPLATES}/coder.evolve`, { body: changed });
    expect(put.status).toBe(200);
    expect(put.body.status.activeVersionID).not.toBe(before.body.status.activeVersionID);
    expect(put.body.spec.files).toEqual({ 'main.tf': 'v2', 'extra/README.md': '# hi' });
    expect(h.fake.counters.get(VERSIONS)).toBe(2);
    expect(h.fake.counters.get(PROMOTE)).toBe(1);

    const same = structuredClone(put.body);
    const again = await h.request('PUT', `${TEMPLATES}/coder.evolve`, { body: same });
    expect(again.status).toBe(200);
    expect(again.body.metadata.resourceVersion).toBe(put.body.metadata.resourceVersion);
    expect(h.fake.counters.get(VERSIONS)).toBe(2);
  });

  it('rejects a stale resourceVersion with 409 Conflict', async () => {
    const current = await h.request('GET', `${TEMPLATES}/coder.docker`);
    const first = structuredClone(current.body);
    first.spec.description = 'first writer';
    expect((await h.request('PUT', `${TEMPLATES}/coder.docker`, { body: first })).status).toBe(200);
    const second = structuredClone(current.body);
    second.spec.description = 'second writer';
    const res = await h.request('PUT', `${TEMPLATES}/coder.docker`, { body: second });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ reason: 'Conflict' });
    expect(res.body.message).toContain('the object has been modified');
    expect((await h.request('GET', `${TEMPLATES}/coder.docker`)).body.spec.description).toBe('first writer');
  });

  it('patches metadata with merge, JSON and strategic merge patches', async () => {
    const merge = await h.request('PATCH', `${TEMPLATES}/coder.docker`, {
      body: { spec: { displayName: 'Merged' } },
      contentType: 'application/merge-patch+json',
    });
    expect(merge.status).toBe(200);
    expect(merge.body.spec.displayName).toBe('Merged');
    const json = await h.request('PATCH', `${TEMPLATES}/coder.docker`, {
      body: [{ op: 'replace', path: '/spec/icon', value: '/icon/new.svg' }],
      contentType: 'application/json-patch+json',
    });
    expect(json.body.spec.icon).toBe('/icon/new.svg');
    const smp = await h.request('PATCH', `${TEMPLATES}/coder.docker`, {
      body: { spec: { description: 'via SMP' } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(smp.body.spec).toMatchObject({ description: 'via SMP', displayName: 'Merged', icon: '/icon/new.svg' });
    // Template settings the view does not show survive metadata patches (Coder v2.30 resets omitted fields).
    const live = h.fake.state.templates.find((t) => t.name === 'docker');
    expect(live?.allow_user_autostart).toBe(true);
    const failing = await h.request('PATCH', `${TEMPLATES}/coder.docker`, {
      body: [{ op: 'test', path: '/spec/icon', value: 'other' }],
      contentType: 'application/json-patch+json',
    });
    expect(failing.status).toBe(422);
  });

  it('server-side apply creates when missing and is a no-op when repeated', async () => {
    const body = JSON.stringify(template('coder.applied', { 'main.tf': 'apply me' }, { description: 'applied' }));
    const path = `${TEMPLATES}/coder.applied?fieldManager=kubectl&force=true`;
    const created = await h.request('PATCH', path, { body, contentType: 'application/apply-patch+yaml' });
    expect(created.status).toBe(201);
    const again = await h.request('PATCH', path, { body, contentType: 'application/apply-patch+yaml' });
    expect(again.status).toBe(200);
    expect(again.body.metadata.resourceVersion).toBe(created.body.metadata.resourceVersion);
    expect(h.fake.counters.get(VERSIONS)).toBe(1);
    // spec.files is an atomic map: a file left out of the applied configuration is removed.
    const twoFiles = JSON.stringify(template('coder.applied', { 'main.tf': 'apply me', 'extra.tf': 'more' }, { description: 'applied' }));
    await h.request('PATCH', path, { body: twoFiles, contentType: 'application/apply-patch+yaml' });
    const oneFile = await h.request('PATCH', path, { body, contentType: 'application/apply-patch+yaml' });
    expect(oneFile.body.spec.files).toEqual({ 'main.tf': 'apply me' });
    const noManager = await h.request('PATCH', `${TEMPLATES}/coder.applied`, { body, contentType: 'application/apply-patch+yaml' });
    expect(noManager.status).toBe(422);
    expect(noManager.body.message).toContain('fieldManager');
  });

  it('deletes a template and refuses while workspaces use it', async () => {
    const inUse = await h.request('DELETE', `${TEMPLATES}/coder.docker`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.reason).toBe('Conflict');
    expect(inUse.body.message).toContain('All workspaces must be deleted');
    await h.request('POST', TEMPLATES, { body: template('coder.doomed', { 'main.tf': 'x' }) });
    const res = await h.request('DELETE', `${TEMPLATES}/coder.doomed`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'coder.doomed', kind: 'codertemplates' } });
    expect((await h.request('GET', `${TEMPLATES}/coder.doomed`)).status).toBe(404);
  });

  it('checks delete preconditions', async () => {
    const res = await h.request('DELETE', `${TEMPLATES}/coder.kubernetes`, { body: { preconditions: { uid: 'not-the-uid' } } });
    expect(res.status).toBe(409);
    expect(res.body.message).toContain('Precondition failed: UID in precondition');
  });

  it('refuses a DELETE body that is not DeleteOptions, naming the field, before deleting anything', async () => {
    const bodies: [unknown, string][] = [
      [[], 'must be a DeleteOptions object'],
      ['"Background"', 'must be a DeleteOptions object'],
      [{ kind: 'Pod' }, 'kind'],
      [{ apiVersion: 'apps/v1' }, 'apiVersion'],
      [{ propagationPolicy: 'Sideways' }, 'propagationPolicy'],
      [{ gracePeriodSeconds: '30' }, 'gracePeriodSeconds'],
      [{ preconditions: { uid: 7 } }, 'preconditions.uid'],
      [{ dryRun: 'All' }, 'dryRun'],
    ];
    for (const [body, field] of bodies) {
      const res = await h.request('DELETE', `${TEMPLATES}/coder.kubernetes`, { body: typeof body === 'string' ? body : JSON.stringify(body) });
      expect([JSON.stringify(body), res.status, res.body.reason]).toEqual([JSON.stringify(body), 400, 'BadRequest']);
      expect(res.body.message).toContain(field);
    }
    expect(h.fake.counters.get('DELETE /api/v2/templates/{template}')).toBe(0);
    expect((await h.request('GET', `${TEMPLATES}/coder.kubernetes`)).status).toBe(200);
    // What kubectl sends is accepted.
    const kubectl = { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', gracePeriodSeconds: null, preconditions: null };
    expect((await h.request('DELETE', `${TEMPLATES}/coder.kubernetes?dryRun=All`, { body: kubectl })).status).toBe(200);
  });

  it('dry-run creates and deletes nothing', async () => {
    const total = h.fake.counters.total;
    const res = await h.request('POST', `${TEMPLATES}?dryRun=All`, { body: template('coder.dry', { 'main.tf': 'x' }) });
    expect(res.status).toBe(201);
    expect((await h.request('GET', `${TEMPLATES}/coder.dry`)).status).toBe(404);
    const del = await h.request('DELETE', `${TEMPLATES}/coder.kubernetes?dryRun=All`);
    expect(del.status).toBe(200);
    expect((await h.request('GET', `${TEMPLATES}/coder.kubernetes`)).status).toBe(200);
    expect(h.fake.counters.get(VERSIONS)).toBe(0);
    expect(h.fake.counters.total).toBeGreaterThan(total);
    expect((await h.request('POST', `${TEMPLATES}?dryRun=Maybe`, { body: template('coder.dry', { 'main.tf': 'x' }) })).status).toBe(400);
  });
});

describe('CoderTemplate bad input', () => {
  const post = (body: unknown, contentType?: string) => h.request('POST', TEMPLATES, { body, ...(contentType ? { contentType } : {}) });

  it('names the missing or wrong field', async () => {
    const noOrg = await post({ ...template('coder.x', { a: 'b' }), spec: { files: { a: 'b' } } });
    expect(noOrg.status).toBe(422);
    expect(noOrg.body.details.causes).toEqual([expect.objectContaining({ field: 'spec.organization', type: 'FieldValueRequired' })]);
    const mismatch = await post(template('coder.x', { a: 'b' }, { organization: 'acme' }));
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.message).toContain('spec.organization');
    const nothing = await post(template('coder.x', undefined));
    expect(nothing.status).toBe(422);
    expect(nothing.body.message).toContain('one of spec.files or spec.versionID is required');
    const unknownOrg = await post(template('nowhere.x', { a: 'b' }));
    expect(unknownOrg.status).toBe(422);
    expect(unknownOrg.body.message).toContain('organization "nowhere" does not exist');
  });

  it('rejects malformed JSON, wrong kinds, bad names and unknown fields', async () => {
    const malformed = await post('{"apiVersion": ', 'application/json');
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toContain('error decoding request body');
    expect((await post({ ...template('coder.x', { a: 'b' }), kind: 'Pod' })).status).toBe(400);
    expect((await post({ ...template('coder.x', { a: 'b' }), apiVersion: 'v1' })).status).toBe(400);
    const badName = await post(template('x', { a: 'b' }));
    expect(badName.status).toBe(400);
    const strict = await h.request('POST', `${TEMPLATES}?fieldValidation=Strict`, { body: template('coder.x', { a: 'b' }, { colour: 'blue' }) });
    expect(strict.status).toBe(400);
    expect(strict.body.message).toBe('strict decoding error: unknown field "spec.colour"');
    const noName = await post({ ...template('coder.x', { a: 'b' }), metadata: { generateName: 'coder.' } });
    expect(noName.status).toBe(422);
    expect(noName.body.message).toContain('metadata.name');
    const wrongNs = await post({ ...template('coder.x', { a: 'b' }), metadata: { name: 'coder.x', namespace: 'other' } });
    expect(wrongNs.status).toBe(400);
  });

  it('warns about unknown fields by default', async () => {
    const res = await h.request('POST', `${TEMPLATES}?dryRun=All`, { body: template('coder.x', { a: 'b' }, { colour: 'blue' }) });
    expect(res.status).toBe(201);
    expect(res.headers.warning).toBe('299 - "unknown field \\"spec.colour\\""');
  });

  it('enforces file path rules and size limits', async () => {
    const traversal = await post(template('coder.x', { '../escape.tf': 'x' }));
    expect(traversal.status).toBe(400);
    expect(traversal.body.message).toContain('spec.files[../escape.tf]');
    const absolute = await post(template('coder.x', { '/etc/x': 'x' }));
    expect(absolute.status).toBe(400);
    const tooBig = await post(template('coder.x', { 'big.tf': 'x'.repeat(1024 * 1024 + 1) }));
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.reason).toBe('RequestEntityTooLarge');
  });

  it('limits the request body size', async () => {
    const res = await post(template('coder.x', { 'a.tf': 'x'.repeat(7 * 1024 * 1024) }));
    expect(res.status).toBe(413);
  });

  it('rejects changes to read-only fields', async () => {
    const current = await h.request('GET', `${TEMPLATES}/coder.docker`);
    const changed = structuredClone(current.body);
    changed.spec.organization = 'acme';
    const res = await h.request('PUT', `${TEMPLATES}/coder.docker`, { body: changed });
    expect(res.status).toBe(422);
    expect(res.body.details.causes[0].field).toBe('spec.organization');
    const version = structuredClone(current.body);
    delete version.spec.files;
    version.spec.versionID = '00000000-0000-0000-0000-000000000001';
    expect((await h.request('PUT', `${TEMPLATES}/coder.docker`, { body: version })).body.message).toContain('spec.versionID');
  });

  it('refuses a versionID change carried by a merge patch with the current files', async () => {
    const res = await h.request('PATCH', `${TEMPLATES}/coder.docker`, {
      body: { spec: { versionID: '00000000-0000-0000-0000-000000000001' } },
      contentType: 'application/merge-patch+json',
    });
    expect(res.status).toBe(422);
    expect(res.body.details.causes[0].field).toBe('spec.versionID');
  });

  it('refuses an unknown versionID on create as Invalid, not NotFound', async () => {
    const res = await post(template('coder.pinned', undefined, { versionID: '00000000-0000-0000-0000-00000000abcd' }));
    expect(res.status).toBe(422);
    expect(res.body.details.causes[0].field).toBe('spec.versionID');
  });

  it('keeps file modes when publishing new files', async () => {
    // A template published elsewhere (e.g. the Coder CLI) with an executable script.
    const coder = new CoderClient({ url: h.fake.url, token: h.fake.adminToken });
    const org = await coder.getOrganization('coder');
    const upload = await coder.uploadFile(await packTemplateFiles(new Map([['main.tf', 'v1'], ['run.sh', '#!/bin/sh\n']]), { 'run.sh': 0o755 }));
    const version = await coder.createTemplateVersion(org.id, { storage_method: 'file', file_id: upload.hash, provisioner: 'terraform', tags: {} });
    await eventually('import', async () => ((await coder.getTemplateVersion(version.id)).job.status === 'succeeded' ? true : undefined));
    await coder.createTemplate(org.id, { name: 'scripted', template_version_id: version.id });

    const current = await h.request('GET', `${TEMPLATES}/coder.scripted`);
    const changed = structuredClone(current.body);
    changed.spec.files['main.tf'] = 'v2';
    const res = await h.request('PUT', `${TEMPLATES}/coder.scripted`, { body: changed });
    expect(res.status).toBe(200);
    const active = await coder.getTemplateVersion(res.body.status.activeVersionID as string);
    const { modes, files } = await unpackTemplateFiles(await coder.downloadFile(active.job.file_id));
    expect(files['main.tf']).toBe('v2');
    expect(modes['run.sh']).toBe(0o755);
    expect(modes['main.tf']).toBe(0o644);
    await coder.close();
  });

  it('keeps unknown-field warnings header-safe', async () => {
    const res = await h.request('POST', `${TEMPLATES}?dryRun=All`, { body: template('coder.x', { a: 'b' }, { 'färbe日': 1 }) });
    expect(res.status).toBe(201);
    expect(res.headers.warning).toContain('f%C3%A4rbe%E6%97%A5');
  });

  it('rejects unsupported patch and media types', async () => {
    expect((await h.request('PATCH', `${TEMPLATES}/coder.docker`, { body: {}, contentType: 'text/plain' })).status).toBe(415);
    expect((await h.request('POST', TEMPLATES, { body: 'a: b', contentType: 'text/csv' })).status).toBe(415);
    expect((await h.request('GET', TEMPLATES, { accept: 'application/vnd.kubernetes.protobuf' })).status).toBe(406);
  });
});

describe('CoderTemplate builds that outlast the request', () => {
  let slow: Harness;
  beforeAll(async () => {
    slow = await startHarness({ flags: ['--template-build-wait=300ms'] });
  });
  afterAll(async () => {
    await slow.close();
  });

  it('keeps building in the background, shows progress and promotes on success', async () => {
    slow.fake.knobs.pauseJobs();
    const current = await slow.request('GET', `${TEMPLATES}/coder.docker`);
    const changed = structuredClone(current.body);
    changed.spec.files = { 'main.tf': 'slow build' };
    const res = await slow.request('PUT', `${TEMPLATES}/coder.docker`, { body: changed });
    expect(res.status).toBe(200);
    expect(res.body.status.activeVersionID).toBe(current.body.status.activeVersionID);
    expect(res.body.status.latestVersionBuild).toMatchObject({ status: 'pending' });
    const pendingId = res.body.status.latestVersionBuild.versionID as string;
    // LIST does not show the pending build; GET and LIST still agree on the resourceVersion.
    const listed = await slow.request('GET', `${TEMPLATES}?fieldSelector=metadata.name%3Dcoder.docker`);
    expect(listed.body.items[0].metadata.resourceVersion).toBe(res.body.metadata.resourceVersion);
    slow.fake.knobs.resumeJobs();
    const promoted = await eventually('background promotion', async () => {
      const got = await slow.request('GET', `${TEMPLATES}/coder.docker`);
      return got.body.status.activeVersionID === pendingId ? got : undefined;
    });
    expect(promoted.body.spec.files).toEqual({ 'main.tf': 'slow build' });
    expect(promoted.body.status.latestVersionBuild).toBeUndefined();
  });

  it('publishes nothing new when the same files are applied again while their version builds', async () => {
    slow.fake.knobs.pauseJobs();
    const current = await slow.request('GET', `${TEMPLATES}/coder.docker`);
    const changed = structuredClone(current.body);
    changed.spec.files = { 'main.tf': 'applied twice' };
    const first = await slow.request('PUT', `${TEMPLATES}/coder.docker`, { body: changed });
    expect(first.status).toBe(200);
    const pendingId = first.body.status.latestVersionBuild.versionID as string;
    const published = slow.fake.counters.get(VERSIONS);
    const followers = slow.api.background.size;
    // The GitOps loop applies the same files again: the object still shows the active files.
    const again = structuredClone(first.body);
    again.spec.files = { 'main.tf': 'applied twice' };
    const second = await slow.request('PUT', `${TEMPLATES}/coder.docker`, { body: again });
    expect(second.status).toBe(200);
    expect(second.body.status.latestVersionBuild).toMatchObject({ versionID: pendingId });
    expect(slow.fake.counters.get(VERSIONS)).toBe(published);
    expect(slow.api.background.size).toBe(followers);
    slow.fake.knobs.resumeJobs();
    const promoted = await eventually('promotion', async () => {
      const got = await slow.request('GET', `${TEMPLATES}/coder.docker`);
      return got.body.status.activeVersionID === pendingId ? got : undefined;
    });
    expect(promoted.body.spec.files).toEqual({ 'main.tf': 'applied twice' });
  });

  it('promotes, when the files are applied again, a version built from them that nobody promoted', async () => {
    // As a replica that stopped after publishing would leave it: built, never made active.
    const current = await slow.request('GET', `${TEMPLATES}/coder.docker`);
    const coder = new CoderClient({ url: slow.fake.url, token: slow.fake.adminToken });
    try {
      const files = new Map([['main.tf', 'orphaned build']]);
      const upload = await coder.uploadFile(await packTemplateFiles(files));
      const org = await coder.getOrganization('coder');
      const orphan = await coder.createTemplateVersion(org.id, {
        storage_method: 'file',
        file_id: upload.hash,
        provisioner: 'terraform',
        tags: {},
        template_id: current.body.metadata.uid as string,
      });
      await eventually('the orphan to build', async () => ((await coder.getTemplateVersion(orphan.id)).job.status === 'succeeded' ? true : undefined));
      const published = slow.fake.counters.get(VERSIONS);
      const changed = structuredClone(current.body);
      changed.spec.files = Object.fromEntries(files);
      const res = await slow.request('PUT', `${TEMPLATES}/coder.docker`, { body: changed });
      expect(res.status).toBe(200);
      expect(res.body.status.activeVersionID).toBe(orphan.id);
      expect(slow.fake.counters.get(VERSIONS)).toBe(published);
    } finally {
      await coder.close();
    }
  });

  it('reports a background build that failed without promoting it', async () => {
    slow.fake.knobs.pauseJobs();
    const current = await slow.request('GET', `${TEMPLATES}/coder.kubernetes`);
    const changed = structuredClone(current.body);
    changed.spec.files = { 'main.tf': '# coder-fake:fail\n' };
    await slow.request('PUT', `${TEMPLATES}/coder.kubernetes`, { body: changed });
    slow.fake.knobs.resumeJobs();
    await slow.api.background.idle();
    const got = await slow.request('GET', `${TEMPLATES}/coder.kubernetes`);
    expect(got.body.status.activeVersionID).toBe(current.body.status.activeVersionID);
    expect(got.body.status.latestVersionBuild).toMatchObject({ status: 'failed', message: expect.stringContaining('coder-fake:fail') });
    // Coder's job.error names the step; the end of the version's log says what was wrong.
    expect(got.body.status.latestVersionBuild.message).toMatch(/^template import init error: [^\n]*\nError: .*on main\.tf line 1/s);
    const table = await slow.request('GET', `${TEMPLATES}/coder.kubernetes`, { accept: TABLE });
    expect(table.body.rows[0].cells[3]).toBe('failed');
    // A finished build's log never changes: read once, however often the template is read.
    expect(slow.fake.counters.get('GET /api/v2/templateversions/{templateversion}/logs')).toBe(1);
  });
});

describe('templates whose files spec.files cannot carry', () => {
  it('an update carrying the resourceVersion of a LIST is no conflict when nothing changed', async () => {
    // Published outside Kubernetes (as with the Coder CLI): one file is not UTF-8.
    const coder = h.fake;
    const archive = await packTar({ 'main.tf': 'resource "null_resource" "x" {}\n', 'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00]) });
    const upload = await request(`${coder.url}/api/v2/files`, {
      method: 'POST',
      headers: { 'Coder-Session-Token': coder.adminToken, 'content-type': 'application/x-tar' },
      body: archive,
    });
    const { hash } = (await upload.body.json()) as { hash: string };
    const org = await coderCall<{ id: string }>(coder, 'GET', '/api/v2/organizations/coder');
    const version = await coderCall<{ id: string }>(coder, 'POST', `/api/v2/organizations/${org.id}/templateversions`, {
      storage_method: 'file',
      file_id: hash,
      provisioner: 'terraform',
      tags: {},
    });
    await eventually('the import', async () => {
      const v = await coderCall<{ job: { status: string } }>(coder, 'GET', `/api/v2/templateversions/${version.id}`);
      return v.job.status === 'succeeded' ? true : undefined;
    });
    await coderCall(coder, 'POST', `/api/v2/organizations/${org.id}/templates`, { name: 'binary', template_version_id: version.id });

    const list = await h.request('GET', TEMPLATES);
    const listed = (list.body.items as { metadata: { name: string; resourceVersion: string } }[]).find((t) => t.metadata.name === 'coder.binary');
    const got = await h.request('GET', `${TEMPLATES}/coder.binary`);
    expect(got.body.status.omittedFiles).toEqual(['logo.png']);
    expect(got.body.metadata.resourceVersion).toBe(listed?.metadata.resourceVersion);
    const body = { ...got.body, metadata: { ...got.body.metadata, resourceVersion: listed?.metadata.resourceVersion }, spec: { ...got.body.spec, description: 'described' } };
    const put = await h.request('PUT', `${TEMPLATES}/coder.binary`, { body });
    expect(put.status).toBe(200);
    expect(put.body.spec.description).toBe('described');
  });
});
