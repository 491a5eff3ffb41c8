import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { CoderResponse, Template, Workspace, WorkspaceBuild, WorkspacesResponse } from '../../../pkg/coder/types.ts';
import { FAIL_IMPORT_MARKER, startFakeCoder } from './index.ts';
import type { FakeCoder } from './index.ts';
import { Api, createVersion, waitForImport, waitForWorkspace } from './testutil.ts';

describe('fake coderd: workspaces and builds', () => {
  let fake: FakeCoder;
  let api: Api;
  let docker: Template;

  beforeAll(async () => {
    fake = await startFakeCoder({ buildTimings: { pendingMs: 10, runningMs: 30 } });
    api = new Api(fake);
  });
  beforeEach(async () => {
    await fake.reset();
    docker = (await api.get('/organizations/coder/templates/docker')).body as Template;
  });
  afterAll(async () => {
    await fake.close();
  });

  async function create(name: string, extra: Record<string, unknown> = {}, owner = 'me'): Promise<Workspace> {
    const res = await api.post(`/users/${owner}/workspaces`, { name, template_id: docker.id, ...extra });
    expect(res.status).toBe(201);
    return res.body as Workspace;
  }

  it('serves seeded workspaces in their final states', async () => {
    const dev = (await api.get('/users/alice/workspace/dev')).body as Workspace;
    expect(dev).toMatchObject({ name: 'dev', owner_name: 'alice', template_name: 'docker', organization_name: 'coder', outdated: false });
    expect(dev.latest_build).toMatchObject({ status: 'running', transition: 'start', build_number: 1 });
    expect(dev.health).toEqual({ healthy: true, failing_agents: [] });
    const ml = (await api.get('/users/bob/workspace/ml')).body as Workspace;
    expect(ml.latest_build).toMatchObject({ status: 'stopped', transition: 'stop', build_number: 2 });
  });

  it('creates a workspace whose first start build runs to completion', async () => {
    const ws = await create('box', { ttl_ms: 3_600_000 });
    expect(ws.latest_build).toMatchObject({ status: 'pending', transition: 'start', build_number: 1, reason: 'initiator', initiator_name: 'admin' });
    expect(ws.ttl_ms).toBe(3_600_000);
    const running = await waitForWorkspace(api, ws.id, 'running');
    expect(running.latest_build.job.status).toBe('succeeded');
    expect(running.latest_build.deadline).not.toBeNull();

    const dup = await api.post('/users/me/workspaces', { name: 'BOX', template_id: docker.id });
    expect(dup.status).toBe(409);
    expect((dup.body as CoderResponse).message).toBe('Workspace "BOX" already exists.');
  });

  it('validates create requests like coderd', async () => {
    const both = await api.post('/users/me/workspaces', { name: 'x', template_id: docker.id, template_version_id: docker.active_version_id });
    expect(both.status).toBe(400);
    expect((both.body as CoderResponse).message).toBe('Validation failed.');
    expect((await api.post('/users/me/workspaces', { name: 'x' })).status).toBe(400);
    const shortTTL = await api.post('/users/me/workspaces', { name: 'x', template_id: docker.id, ttl_ms: 1000 });
    expect(shortTTL.status).toBe(400);
    expect((shortTTL.body as CoderResponse).validations).toEqual([{ field: 'ttl_ms', detail: 'time until shutdown must be at least one minute' }]);
    expect((await api.post('/users/me/workspaces', { name: 'x', template_id: docker.id, ttl_ms: 31 * 24 * 3_600_000 })).status).toBe(400);
    const badCron = await api.post('/users/me/workspaces', { name: 'x', template_id: docker.id, autostart_schedule: 'every day' });
    expect(badCron.status).toBe(400);
    expect((await api.post('/users/nobody/workspaces', { name: 'x', template_id: docker.id })).status).toBe(400);
  });

  it('answers 406 while the version imports and 400 once it failed', async () => {
    fake.knobs.pauseJobs();
    const importing = await createVersion(api, 'coder', { 'main.tf': '# slow\n' }, { template_id: docker.id });
    const early = await api.post('/users/me/workspaces', { name: 'early', template_version_id: importing.id });
    expect(early.status).toBe(406);
    expect((early.body as CoderResponse).message).toBe('The provided template version is pending. Wait for it to complete importing!');
    fake.knobs.resumeJobs();

    const broken = await waitForImport(api, (await createVersion(api, 'coder', { 'main.tf': `# ${FAIL_IMPORT_MARKER}\n` }, { template_id: docker.id })).id);
    const failed = await api.post('/users/me/workspaces', { name: 'late', template_version_id: broken.id });
    expect(failed.status).toBe(400);
    expect((failed.body as CoderResponse).message).toContain('has failed to import');
    expect((await api.get('/users/me/workspace/late')).status).toBe(404);
  });

  it('refuses deprecated templates', async () => {
    await api.patch(`/templates/${docker.id}`, { deprecation_message: 'gone', allow_user_autostart: true, allow_user_autostop: true });
    const res = await api.post('/users/me/workspaces', { name: 'x', template_id: docker.id });
    expect(res.status).toBe(400);
    expect((res.body as CoderResponse).message).toBe('Template "docker" has been deprecated, and cannot be used to create a new workspace.');
  });

  it('answers 409 while a build is active, then stops and deletes', async () => {
    fake.knobs.pauseJobs();
    const ws = await create('cycle');
    const concurrent = await api.post(`/workspaces/${ws.id}/builds`, { transition: 'stop' });
    expect(concurrent.status).toBe(409);
    expect((concurrent.body as CoderResponse).message).toBe('A workspace build is already active.');
    fake.knobs.resumeJobs();
    await waitForWorkspace(api, ws.id, 'running');

    const stop = await api.post(`/workspaces/${ws.id}/builds`, { transition: 'stop', reason: 'cli' });
    expect(stop.status).toBe(201);
    expect((stop.body as WorkspaceBuild)).toMatchObject({ transition: 'stop', build_number: 2, status: 'pending', reason: 'cli' });
    const stopped = await waitForWorkspace(api, ws.id, 'stopped');
    expect(stopped.latest_build.deadline).toBeNull();
    expect(((await api.get(`/workspacebuilds/${(stop.body as WorkspaceBuild).id}`)).body as WorkspaceBuild).status).toBe('stopped');

    expect((await api.post(`/workspaces/${ws.id}/builds`, { transition: 'restart' })).status).toBe(400);
    const del = await api.post(`/workspaces/${ws.id}/builds`, { transition: 'delete' });
    expect(del.status).toBe(201);
    await waitForWorkspace(api, ws.id, 'deleted');

    const gone = await api.get(`/workspaces/${ws.id}`);
    expect(gone.status).toBe(410);
    expect((await api.get(`/workspaces/${ws.id}?include_deleted=true`)).status).toBe(200);
    expect((await api.get('/users/me/workspace/cycle')).status).toBe(404);
    expect((await api.get('/users/me/workspace/cycle?include_deleted=true')).status).toBe(200);
    expect((await api.post(`/workspaces/${ws.id}/builds`, { transition: 'start' })).status).toBe(409);
    // The name can be reused once the old workspace is deleted.
    await create('cycle');
  });

  it('reports failed builds from failNextJobs', async () => {
    const ws = await create('flaky');
    await waitForWorkspace(api, ws.id, 'running');
    fake.knobs.failNextJobs({ type: 'workspace_build', transition: 'stop', error: 'terraform apply: exit status 1' });
    await api.post(`/workspaces/${ws.id}/builds`, { transition: 'stop' });
    const failed = await waitForWorkspace(api, ws.id, 'failed');
    expect(failed.latest_build.job.error).toBe('terraform apply: exit status 1');
  });

  it('pages with limit/offset and reports the total count', async () => {
    for (const name of ['p1', 'p2', 'p3']) await create(name);
    const all = (await api.get('/workspaces')).body as WorkspacesResponse;
    expect(all.count).toBe(6);
    const seen: string[] = [];
    for (let offset = 0; offset < all.count; offset += 4) {
      const page = (await api.get(`/workspaces?limit=4&offset=${offset}`)).body as WorkspacesResponse;
      expect(page.count).toBe(6);
      seen.push(...page.workspaces.map((w) => `${w.owner_name}/${w.name}`));
    }
    expect(seen.sort()).toEqual(all.workspaces.map((w) => `${w.owner_name}/${w.name}`).sort());
    expect(new Set(seen).size).toBe(6);
    const bad = await api.get('/workspaces?limit=-1');
    expect(bad.status).toBe(400);
    expect((bad.body as CoderResponse).message).toBe('Query parameters have invalid values.');
  });

  it('filters with q', async () => {
    const names = async (q: string): Promise<string[]> =>
      ((await api.get(`/workspaces?q=${encodeURIComponent(q)}`)).body as WorkspacesResponse).workspaces.map((w) => `${w.owner_name}/${w.name}`).sort();
    expect(await names('owner:alice')).toEqual(['alice/dev']);
    expect(await names('owner:me')).toEqual(['admin/sandbox']);
    expect(await names('template:python')).toEqual(['bob/ml']);
    expect(await names('organization:acme')).toEqual(['bob/ml']);
    expect(await names('name:de')).toEqual(['alice/dev']);
    expect(await names('bob/ml')).toEqual(['bob/ml']);
    expect(await names('status:stopped')).toEqual(['bob/ml']);
    expect((await api.get('/workspaces?q=colour:blue')).status).toBe(400);
  });

  it('updates ttl and autostart with 204 and validates them', async () => {
    const dev = (await api.get('/users/alice/workspace/dev')).body as Workspace;
    expect((await api.put(`/workspaces/${dev.id}/ttl`, { ttl_ms: 7_200_000 })).status).toBe(204);
    expect(((await api.get(`/workspaces/${dev.id}`)).body as Workspace).ttl_ms).toBe(7_200_000);
    expect((await api.put(`/workspaces/${dev.id}/ttl`, { ttl_ms: null })).status).toBe(204);
    expect(((await api.get(`/workspaces/${dev.id}`)).body as Workspace).ttl_ms).toBeUndefined();
    expect((await api.put(`/workspaces/${dev.id}/ttl`, { ttl_ms: 10 })).status).toBe(400);

    expect((await api.put(`/workspaces/${dev.id}/autostart`, { schedule: 'CRON_TZ=Europe/Berlin 30 9 * * 1-5' })).status).toBe(204);
    expect(((await api.get(`/workspaces/${dev.id}`)).body as Workspace).autostart_schedule).toBe('CRON_TZ=Europe/Berlin 30 9 * * 1-5');
    const bad = await api.put(`/workspaces/${dev.id}/autostart`, { schedule: '30 9 1 * *' });
    expect(bad.status).toBe(400);
    expect((bad.body as CoderResponse).message).toBe('Invalid autostart schedule.');
    expect((await api.put(`/workspaces/${dev.id}/autostart`, {})).status).toBe(204);
    expect(((await api.get(`/workspaces/${dev.id}`)).body as Workspace).autostart_schedule).toBeUndefined();
  });

  it('hides other users\' workspaces from members', async () => {
    const login = await api.post('/users/login', { email: 'alice@coder.com', password: 'AliceSecurePassword!' }, { token: null });
    const alice = api.as((login.body as { session_token: string }).session_token);
    const mine = (await alice.get('/workspaces')).body as WorkspacesResponse;
    expect(mine.workspaces.map((w) => w.name)).toEqual(['dev']);
    expect(mine.count).toBe(1);
    const sandbox = (await api.get('/users/admin/workspace/sandbox')).body as Workspace;
    expect((await alice.get(`/workspaces/${sandbox.id}`)).status).toBe(404);
    expect((await alice.post('/users/admin/workspaces', { name: 'x', template_id: docker.id })).status).toBe(403);
  });
});
