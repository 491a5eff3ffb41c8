// Contract: workspaces and their builds (create, start/stop/delete sequences, conflicts,
// deleted workspaces, lookups, paging and order, build logs, TTL and autostart), against the
// fake and a real Coder v2.30.0.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Workspace, WorkspaceBuild } from '../../pkg/coder/types.ts';
import { createTemplate, followBuild, keys, keysWithout, uniqueName } from './helpers.ts';
import { TARGETS, startTarget } from './targets.ts';
import type { Target } from './targets.ts';

// Real Terraform builds on a shared 2-core machine: each test gets more than the global 60 s.
jest.setTimeout(180_000);

const NOT_FOUND = 'Resource not found or you do not have access to this resource';
const ACTIVE = 'A workspace build is already active.';
const WORKSPACE_KEYS = [
  'allow_renames', 'automatic_updates', 'created_at', 'deleting_at', 'dormant_at', 'favorite', 'health', 'id', 'is_prebuild', 'last_used_at',
  'latest_app_status', 'latest_build', 'name', 'next_start_at', 'organization_id', 'organization_name', 'outdated', 'owner_avatar_url', 'owner_id',
  'owner_name', 'task_id', 'template_active_version_id', 'template_allow_user_cancel_workspace_jobs', 'template_display_name', 'template_icon',
  'template_id', 'template_name', 'template_require_active_version', 'template_use_classic_parameter_flow', 'updated_at',
];
const BUILD_KEYS = [
  'build_number', 'created_at', 'daily_cost', 'deadline', 'id', 'initiator_id', 'initiator_name', 'job', 'matched_provisioners', 'max_deadline', 'reason',
  'resources', 'status', 'template_version_id', 'template_version_name', 'template_version_preset_id', 'transition', 'updated_at', 'workspace_id',
  'workspace_name', 'workspace_owner_id', 'workspace_owner_name',
];
/** Set on a build once its job ran and ended without error (a moment after completed_at on a real Coder). */
const LATE_BUILD_KEYS = ['has_ai_task', 'has_external_agent'];
const STAGES = { start: 'Starting workspace', stop: 'Stopping workspace', delete: 'Destroying workspace' } as const;

describe.each(TARGETS)('%s Coder', (name) => {
  let t: Target;
  let template: { id: string; name: string; active_version_id: string };
  beforeAll(async () => {
    t = await startTarget(name);
    template = await createTemplate(t.api);
  }, 120_000);
  afterAll(async () => {
    await t.stop();
  });

  async function build(workspaceId: string, transition: 'start' | 'stop' | 'delete'): Promise<{ created: WorkspaceBuild; statuses: string[]; last: WorkspaceBuild }> {
    const created = await t.client.createWorkspaceBuild(workspaceId, { transition });
    return { created, ...(await followBuild(t.api, created.id)) };
  }

  /** A workspace whose first (start) build finished. */
  async function runningWorkspace(wsName = uniqueName('w')): Promise<Workspace> {
    const ws = await t.client.createWorkspace('me', { name: wsName, template_id: template.id });
    await followBuild(t.api, ws.latest_build.id);
    return t.client.getWorkspace(ws.id);
  }

  it('create: 201 with a pending start build, then starting, then running', async () => {
    const wsName = uniqueName('w');
    const res = await t.api.post('/users/me/workspaces', { name: wsName, template_id: template.id });
    expect(res.status).toBe(201);
    const ws = res.body as Workspace;
    expect(keys(ws)).toEqual(WORKSPACE_KEYS);
    expect(keys(ws.latest_build)).toEqual(BUILD_KEYS);
    expect(ws).toMatchObject({ name: wsName, owner_name: 'admin', template_id: template.id, template_name: template.name, organization_name: 'coder', outdated: false, favorite: false, automatic_updates: 'never', health: { healthy: true, failing_agents: [] } });
    expect(ws.latest_build).toMatchObject({ build_number: 1, transition: 'start', status: 'pending', reason: 'initiator', initiator_name: 'admin', template_version_id: template.active_version_id, job: { status: 'pending', queue_position: 0, queue_size: 0, type: 'workspace_build' } });
    expect(keys((ws.latest_build as unknown as { matched_provisioners: object }).matched_provisioners)).toEqual(['available', 'count', 'most_recently_seen']);
    // No TTL or autostart asked for: the keys are absent, not null.
    expect('ttl_ms' in ws || 'autostart_schedule' in ws).toBe(false);

    const { statuses, last } = await followBuild(t.api, ws.latest_build.id);
    expect(statuses.join(' → ')).toMatch(/^(pending\/pending → )?running\/starting → succeeded\/running$/);
    expect(keysWithout(last, LATE_BUILD_KEYS)).toEqual(BUILD_KEYS);
    expect((last as unknown as { matched_provisioners: unknown }).matched_provisioners).toEqual({ count: 0, available: 0, most_recently_seen: null });
    expect(last.updated_at).toBe(last.job.completed_at);
    expect(Array.isArray(last.resources)).toBe(true);
    const got = await t.client.getWorkspace(ws.id);
    expect(keys(got)).toEqual(WORKSPACE_KEYS);
    expect(got.latest_build.status).toBe('running');
    expect((await t.client.getWorkspaceBuild(last.id)).status).toBe('running');
  });

  it('stop, start and delete: each build 201 pending, then its running status, then done; one build at a time (409)', async () => {
    const ws = await runningWorkspace();
    const stop = await t.client.createWorkspaceBuild(ws.id, { transition: 'stop' });
    expect(keys(stop)).toEqual(BUILD_KEYS);
    expect(stop).toMatchObject({ build_number: 2, transition: 'stop', status: 'pending', job: { status: 'pending' } });
    // A second build while one is active.
    const busy = await t.api.post(`/workspaces/${ws.id}/builds`, { transition: 'start' });
    expect([busy.status, busy.body]).toEqual([409, { message: ACTIVE, detail: ACTIVE }]);
    const err = await t.client.createWorkspaceBuild(ws.id, { transition: 'delete' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 409, coderMessage: ACTIVE });
    const stopped = await followBuild(t.api, stop.id);
    expect(stopped.statuses.join(' → ')).toMatch(/^(pending\/pending → )?running\/stopping → succeeded\/stopped$/);

    const start = await build(ws.id, 'start');
    expect(start.statuses.join(' → ')).toMatch(/^(pending\/pending → )?running\/starting → succeeded\/running$/);
    const del = await build(ws.id, 'delete');
    expect(del.created.build_number).toBe(4);
    expect(del.statuses.join(' → ')).toMatch(/^(pending\/pending → )?running\/deleting → succeeded\/deleted$/);

    const builds = await t.api.get(`/workspaces/${ws.id}/builds`);
    expect((builds.body as WorkspaceBuild[]).map((b) => `${String(b.build_number)}:${b.transition}:${b.status}`)).toEqual(['4:delete:deleted', '3:start:running', '2:stop:stopped', '1:start:running']);
  });

  it('a deleted workspace: GET 410 unless ?include_deleted=true; by name 404 unless include_deleted', async () => {
    const ws = await runningWorkspace();
    await build(ws.id, 'delete');
    const gone = await t.api.get(`/workspaces/${ws.id}`);
    expect([gone.status, gone.body]).toEqual([410, { message: `Workspace "${ws.id}" was deleted, you can view this workspace by specifying '?deleted=true' and trying again.` }]);
    // Despite the message, ?deleted=true does not show it.
    expect((await t.api.get(`/workspaces/${ws.id}?deleted=true`)).status).toBe(410);
    const shown = await t.client.getWorkspace(ws.id, true);
    expect(shown.latest_build).toMatchObject({ transition: 'delete', status: 'deleted' });
    const err = await t.client.getWorkspace(ws.id).catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 410 });
    const byName = await t.api.get(`/users/me/workspace/${ws.name}`);
    expect([byName.status, byName.body]).toEqual([404, { message: NOT_FOUND }]);
    expect((await t.api.get(`/users/me/workspace/${ws.name}?include_deleted=true`)).body).toMatchObject({ id: ws.id });
    const start = await t.api.post(`/workspaces/${ws.id}/builds`, { transition: 'start' });
    expect([start.status, start.body]).toEqual([409, { message: 'Cannot start a deleted workspace!', detail: 'This workspace has been deleted and cannot be modified.' }]);
    // The name is free again.
    const again = await t.client.createWorkspace('me', { name: ws.name, template_id: template.id });
    expect(again.id).not.toBe(ws.id);
    await followBuild(t.api, again.latest_build.id);
    expect((await t.client.getWorkspaceByOwnerAndName('me', ws.name)).id).toBe(again.id);
  });

  it('names: submitted case kept, unique and looked up case-insensitively (409 with a name validation); underscores 400', async () => {
    const wsName = uniqueName('MyWS');
    const ws = await runningWorkspace(wsName);
    expect(ws.name).toBe(wsName);
    const clash = await t.api.post('/users/me/workspaces', { name: wsName.toLowerCase(), template_id: template.id });
    expect([clash.status, clash.body]).toEqual([
      409,
      { message: `Workspace "${wsName.toLowerCase()}" already exists.`, validations: [{ field: 'name', detail: 'This value is already in use and should be unique.' }] },
    ]);
    const underscore = await t.api.post('/users/me/workspaces', { name: 'my_ws', template_id: template.id });
    expect([underscore.status, underscore.body]).toEqual([400, { message: 'Validation failed.', validations: [{ field: 'name', detail: 'Validation failed for tag "workspace_name" with value: "my_ws"' }] }]);
    for (const [owner, lookup] of [['me', wsName.toLowerCase()], ['admin', wsName.toUpperCase()], ['ADMIN', wsName]] as const) {
      expect((await t.client.getWorkspaceByOwnerAndName(owner, lookup)).id).toBe(ws.id);
    }
  });

  it('GET /workspaces: {workspaces, count}; limit/offset pages with count = total; favourites, then running, then name (case-insensitive)', async () => {
    const prefix = uniqueName('pg');
    const made: Workspace[] = [];
    for (const suffix of ['b', 'A', 'c', 'D', 'e']) made.push(await t.client.createWorkspace('me', { name: `${prefix}-${suffix}`, template_id: template.id }));
    await Promise.all(made.map((w) => followBuild(t.api, w.latest_build.id)));
    const byName = (n: string): Workspace => made.find((w) => w.name === `${prefix}-${n}`) as Workspace;
    await build(byName('A').id, 'stop');
    const fav = await t.api.call('PUT', `/workspaces/${byName('e').id}/favorite`);
    expect(fav.status).toBe(204);

    const q = encodeURIComponent(`name:${prefix}`);
    const all = await t.api.get(`/workspaces?q=${q}`);
    expect(keys(all.body)).toEqual(['count', 'workspaces']);
    const body = all.body as { workspaces: Workspace[]; count: number };
    const order = [`${prefix}-e`, `${prefix}-b`, `${prefix}-c`, `${prefix}-D`, `${prefix}-A`];
    expect([body.count, body.workspaces.map((w) => w.name)]).toEqual([5, order]);
    expect(body.workspaces[0]?.favorite).toBe(true);
    for (const [query, names] of [
      ['limit=2', order.slice(0, 2)],
      ['limit=2&offset=2', order.slice(2, 4)],
      ['limit=2&offset=4', order.slice(4)],
      ['offset=3', order.slice(3)],
      ['limit=2&offset=10', []],
    ] as const) {
      const page = (await t.api.get(`/workspaces?q=${q}&${query}`)).body as { workspaces: Workspace[]; count: number };
      expect([query, page.count, page.workspaces.map((w) => w.name)]).toEqual([query, 5, names]);
    }
    // The product reads the whole list in one request.
    expect(await t.client.listAllWorkspaces((w) => w.name, `name:${prefix}`)).toEqual(order);
    expect((await t.client.listAllWorkspaces((w) => w.id)).length).toBeGreaterThanOrEqual(5);
    const unfav = await t.api.call('DELETE', `/workspaces/${byName('e').id}/favorite`);
    expect(unfav.status).toBe(204);
    expect(((await t.api.get(`/workspaces?q=${q}&limit=1`)).body as { workspaces: Workspace[] }).workspaces[0]?.name).toBe(`${prefix}-b`);
  });

  it('build logs: the stages of each transition, info lines, ascending ids', async () => {
    const ws = await runningWorkspace();
    const stop = await build(ws.id, 'stop');
    const del = await build(ws.id, 'delete');
    for (const [transition, buildId] of [['start', ws.latest_build.id], ['stop', stop.created.id], ['delete', del.created.id]] as const) {
      const res = await t.api.get(`/workspacebuilds/${buildId}/logs`);
      expect(res.status).toBe(200);
      const logs = res.body as { id: number; log_source: string; log_level: string; stage: string; output: string }[];
      for (const log of logs) expect(keys(log)).toEqual(['created_at', 'id', 'log_level', 'log_source', 'output', 'stage']);
      expect(logs.map((l) => l.id)).toEqual([...logs.map((l) => l.id)].sort((a, b) => a - b));
      expect(logs[0]).toMatchObject({ log_source: 'provisioner_daemon', stage: 'Setting up', output: '' });
      expect(logs.at(-1)).toMatchObject({ log_source: 'provisioner_daemon', stage: 'Cleaning Up' });
      expect([transition, [...new Set(logs.map((l) => l.stage))]]).toEqual([
        transition,
        ['Setting up', 'Initializing Terraform Directory', 'Planning Infrastructure', STAGES[transition], 'Cleaning Up'],
      ]);
      expect(logs.filter((l) => l.log_level !== 'info')).toEqual([]);
      expect(logs.some((l) => l.stage === STAGES[transition] && l.output.startsWith('Apply complete!'))).toBe(true);
    }
  });

  it('TTL and autostart through the product’s client: 204, then reported; cleared again', async () => {
    const ws = await runningWorkspace();
    await t.client.updateWorkspaceTTL(ws.id, 2 * 3_600_000);
    await t.client.updateWorkspaceAutostart(ws.id, 'CRON_TZ=UTC 30 9 * * 1-5');
    expect(await t.client.getWorkspace(ws.id)).toMatchObject({ ttl_ms: 2 * 3_600_000, autostart_schedule: 'CRON_TZ=UTC 30 9 * * 1-5' });
    await t.client.updateWorkspaceTTL(ws.id, null);
    await t.client.updateWorkspaceAutostart(ws.id, undefined);
    const cleared = await t.client.getWorkspace(ws.id);
    expect('ttl_ms' in cleared || 'autostart_schedule' in cleared).toBe(false);
    const bad = await t.api.put(`/workspaces/${ws.id}/autostart`, { schedule: 'every day' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ message: 'Invalid autostart schedule.', validations: [{ field: 'schedule' }] });
  });
});
