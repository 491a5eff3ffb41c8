import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { CoderResponse, Organization, Template } from '../../../pkg/coder/types.ts';
import { startFakeCoder } from './index.ts';
import type { FakeCoder } from './index.ts';
import { Api, createVersion, waitForImport } from './testutil.ts';

const MAIN_TF = 'resource "null_resource" "x" {}\n';

describe('fake coderd: templates', () => {
  let fake: FakeCoder;
  let api: Api;
  let coder: Organization;

  beforeAll(async () => {
    fake = await startFakeCoder({ buildTimings: { pendingMs: 5, runningMs: 10 } });
    api = new Api(fake);
    coder = (await api.get('/organizations/coder')).body as Organization;
  });
  beforeEach(async () => {
    await fake.reset();
    coder = (await api.get('/organizations/coder')).body as Organization;
  });
  afterAll(async () => {
    await fake.close();
  });

  async function newTemplate(name: string, extra: Record<string, unknown> = {}): Promise<Template> {
    const version = await waitForImport(api, (await createVersion(api, coder.id, { 'main.tf': MAIN_TF })).id);
    const res = await api.post(`/organizations/${coder.id}/templates`, { name, template_version_id: version.id, ...extra });
    expect(res.status).toBe(201);
    return res.body as Template;
  }

  it('lists seeded templates across orgs and filters with q', async () => {
    const all = (await api.get('/templates')).body as Template[];
    expect(all.map((t) => `${t.organization_name}/${t.name}`).sort()).toEqual(['acme/python', 'coder/docker', 'coder/kubernetes']);
    const inAcme = (await api.get(`/templates?q=${encodeURIComponent('organization:acme')}`)).body as Template[];
    expect(inAcme.map((t) => t.name)).toEqual(['python']);
    const exact = (await api.get(`/templates?q=${encodeURIComponent(`organization:"${coder.id}" exact_name:docker`)}`)).body as Template[];
    expect(exact.map((t) => t.name)).toEqual(['docker']);
    const fuzzy = (await api.get('/templates?q=name:kube')).body as Template[];
    expect(fuzzy.map((t) => t.name)).toEqual(['kubernetes']);
    const bad = await api.get('/templates?q=bogus:1');
    expect(bad.status).toBe(400);
    expect((bad.body as CoderResponse).message).toBe('Invalid template search query.');
    expect(((await api.get('/organizations/acme/templates')).body as Template[]).length).toBe(1);
  });

  it('gets templates by case-insensitive name and by id', async () => {
    const byName = await api.get(`/organizations/${coder.id}/templates/DoCkEr`);
    expect(byName.status).toBe(200);
    const docker = byName.body as Template;
    expect(docker.build_time_stats.start).toEqual({ P50: null, P95: null });
    expect((await api.get(`/templates/${docker.id}`)).body).toEqual(docker);
    expect((await api.get(`/organizations/${coder.id}/templates/missing`)).status).toBe(404);
  });

  it('creates a template from a succeeded version and rejects clashes and bad input', async () => {
    const created = await newTemplate('web', { display_name: 'Web', description: 'A web stack' });
    expect(created).toMatchObject({ name: 'web', display_name: 'Web', organization_name: 'coder', deprecated: false, allow_user_autostart: true, activity_bump_ms: 3600000 });
    expect(created.created_by_name).toBe('admin');

    const version = await waitForImport(api, (await createVersion(api, coder.id, { 'main.tf': '# another\n' })).id);
    const clash = await api.post(`/organizations/${coder.id}/templates`, { name: 'WEB', template_version_id: version.id });
    expect(clash.status).toBe(409);
    expect((clash.body as CoderResponse).validations?.[0]?.field).toBe('name');

    for (const name of ['new', 'bad_name', '-x', 'a'.repeat(33)]) {
      const res = await api.post(`/organizations/${coder.id}/templates`, { name, template_version_id: version.id });
      expect(res.status).toBe(400);
      expect((res.body as CoderResponse).message).toBe('Validation failed.');
    }
    const missing = await api.post(`/organizations/${coder.id}/templates`, { name: 'ghost', template_version_id: '11111111-1111-1111-1111-111111111111' });
    expect(missing.status).toBe(404);
    expect((missing.body as CoderResponse).validations?.[0]?.field).toBe('template_version_id');

    const attached = await api.post(`/organizations/${coder.id}/templates`, { name: 'again', template_version_id: created.active_version_id });
    expect(attached.status).toBe(400);
  });

  it('applies v2.30 PATCH semantics: omitted non-pointer fields reset, no change is 304', async () => {
    const t = await newTemplate('patchme', { default_ttl_ms: 3600000, allow_user_cancel_workspace_jobs: true });
    // Send the full state back: nothing changes.
    const full = {
      name: t.name, display_name: t.display_name, description: t.description, icon: t.icon,
      default_ttl_ms: t.default_ttl_ms, activity_bump_ms: t.activity_bump_ms,
      autostop_requirement: t.autostop_requirement, autostart_requirement: t.autostart_requirement,
      allow_user_autostart: t.allow_user_autostart, allow_user_autostop: t.allow_user_autostop,
      allow_user_cancel_workspace_jobs: t.allow_user_cancel_workspace_jobs, failure_ttl_ms: t.failure_ttl_ms,
      time_til_dormant_ms: t.time_til_dormant_ms, time_til_dormant_autodelete_ms: t.time_til_dormant_autodelete_ms,
      require_active_version: t.require_active_version, deprecation_message: t.deprecation_message,
    };
    const same = await api.patch(`/templates/${t.id}`, full);
    expect(same.status).toBe(304);
    expect(same.text).toBe('');

    const changed = await api.patch(`/templates/${t.id}`, { ...full, description: 'new words' });
    expect(changed.status).toBe(200);
    expect((changed.body as Template).description).toBe('new words');

    // Only a display name: pointer fields stay, non-pointer fields go to zero.
    const partial = (await api.patch(`/templates/${t.id}`, { display_name: 'Patched' })).body as Template;
    expect(partial).toMatchObject({
      display_name: 'Patched', description: 'new words', default_ttl_ms: 0, activity_bump_ms: 0,
      allow_user_autostart: false, allow_user_autostop: false, allow_user_cancel_workspace_jobs: false,
    });

    const deprecated = (await api.patch(`/templates/${t.id}`, { ...full, deprecation_message: 'use web2' })).body as Template;
    expect(deprecated.deprecated).toBe(true);

    const longDescription = await api.patch(`/templates/${t.id}`, { ...full, description: 'x'.repeat(128) });
    expect(longDescription.status).toBe(400);
    expect((await api.patch(`/templates/${t.id}`, { ...full, failure_ttl_ms: 1000 })).status).toBe(400);
  });

  it('refuses to delete a template with workspaces and deletes an unused one', async () => {
    const docker = (await api.get(`/organizations/${coder.id}/templates/docker`)).body as Template;
    const refused = await api.delete(`/templates/${docker.id}`);
    expect(refused.status).toBe(400);
    expect((refused.body as CoderResponse).message).toBe('All workspaces must be deleted before a template can be removed.');

    const unused = await newTemplate('unused');
    const deleted = await api.delete(`/templates/${unused.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ message: 'Template has been deleted!' });
    expect((await api.get(`/templates/${unused.id}`)).status).toBe(404);
    // The name is free again.
    await newTemplate('unused');
  });

  it('forbids template changes to plain members', async () => {
    const login = await api.post('/users/login', { email: 'alice@coder.com', password: 'AliceSecurePassword!' }, { token: null });
    const alice = api.as((login.body as { session_token: string }).session_token);
    const docker = (await alice.get(`/organizations/${coder.id}/templates/docker`)).body as Template;
    expect((await alice.patch(`/templates/${docker.id}`, { description: 'x' })).status).toBe(403);
    expect((await alice.delete(`/templates/${docker.id}`)).status).toBe(403);
    // alice is not in acme: its templates are invisible to her.
    expect(((await alice.get('/templates')).body as Template[]).map((t) => t.name).sort()).toEqual(['docker', 'kubernetes']);
  });
});
