import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createWorkspaceInCoder } from '../util/out-of-band.ts';
import { TABLE, WORKSPACES, eventually, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(async () => {
  await h.api.background.idle();
  h.fake.knobs.resumeJobs();
  await h.fake.reset();
});

const BUILDS = 'POST /api/v2/workspaces/{workspace}/builds';

function workspace(name: string, spec: Record<string, unknown> = {}) {
  const [organization = ''] = name.split('.');
  return {
    apiVersion: 'aggregation.coder.com/v1alpha1',
    kind: 'CoderWorkspace',
    metadata: { name },
    spec: { organization, templateName: 'docker', ...spec },
  };
}

const get = (name: string) => h.request('GET', `${WORKSPACES}/${name}`);
const settled = (name: string) =>
  eventually(`${name} to settle`, async () => {
    const res = await get(name);
    return ['running', 'stopped', 'failed', 'deleted'].includes(res.body.status?.latestBuildStatus as string) ? res : undefined;
  });

describe('CoderWorkspace reads', () => {
  it('lists workspaces with status and computed labels', async () => {
    const res = await h.request('GET', WORKSPACES);
    expect(res.status).toBe(200);
    const names = res.body.items.map((w: { metadata: { name: string } }) => w.metadata.name);
    expect(names).toEqual([...names].sort());
    const dev = res.body.items.find((w: { metadata: { name: string } }) => w.metadata.name === 'coder.alice.dev');
    expect(dev).toMatchObject({
      metadata: {
        namespace: 'coder',
        labels: {
          'aggregation.coder.com/organization': 'coder',
          'aggregation.coder.com/owner': 'alice',
          'aggregation.coder.com/template': 'docker',
        },
      },
      spec: { organization: 'coder', templateName: 'docker', running: true },
      status: { ownerName: 'alice', templateName: 'docker', latestBuildStatus: 'running', latestBuildTransition: 'start' },
    });
    expect(dev.metadata.uid).toBe(dev.status.id);
  });

  it('serves the documented Table columns', async () => {
    const res = await h.request('GET', WORKSPACES, { accept: TABLE });
    expect(res.body.columnDefinitions.filter((c: { priority: number }) => c.priority === 0).map((c: { name: string }) => c.name)).toEqual([
      'Name',
      'Owner',
      'Template',
      'Status',
      'Running',
      'Age',
    ]);
    const row = res.body.rows.find((r: { cells: unknown[] }) => r.cells[0] === 'acme.bob.ml');
    expect(row.cells.slice(0, 5)).toEqual(['acme.bob.ml', 'bob', 'python', 'stopped', false]);
  });

  it('selects by owner label and by name', async () => {
    const bob = await h.request('GET', `${WORKSPACES}?labelSelector=aggregation.coder.com%2Fowner%3Dbob`);
    expect(bob.body.items.map((w: { metadata: { name: string } }) => w.metadata.name)).toEqual(['acme.bob.ml']);
    const notAlice = await h.request('GET', `${WORKSPACES}?labelSelector=aggregation.coder.com%2Fowner!%3Dalice`);
    expect(notAlice.body.items.every((w: { status: { ownerName: string } }) => w.status.ownerName !== 'alice')).toBe(true);
    const one = await h.request('GET', `${WORKSPACES}?fieldSelector=metadata.name%3Dcoder.alice.dev`);
    expect(one.body.items).toHaveLength(1);
  });

  it('follows Coder paging for many workspaces and pages itself with continue', async () => {
    for (let i = 0; i < 12; i++) {
      const res = await h.request('POST', WORKSPACES, { body: workspace(`coder.alice.ws${String(i).padStart(2, '0')}`) });
      expect(res.status).toBe(201);
    }
    const all = await h.request('GET', WORKSPACES);
    const total = all.body.items.length as number;
    expect(total).toBeGreaterThanOrEqual(15);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await h.request('GET', `${WORKSPACES}?limit=4${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
      seen.push(...page.body.items.map((w: { metadata: { name: string } }) => w.metadata.name));
      token = page.body.metadata.continue as string | undefined;
    } while (token);
    expect(seen).toEqual(all.body.items.map((w: { metadata: { name: string } }) => w.metadata.name));
  });

  it('answers 404 for unknown owners, workspaces and organization mismatches', async () => {
    expect((await get('coder.nobody.dev')).status).toBe(404);
    expect((await get('coder.alice.nope')).status).toBe(404);
    expect((await get('acme.alice.dev')).status).toBe(404);
    const bad = await get('coder.alice');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('<organization>.<owner>.<workspace>');
  });
});

describe('concurrent LISTs', () => {
  const LIST = 'GET /api/v2/workspaces';
  const names = (res: { body: { items: { metadata: { name: string } }[] } }) => res.body.items.map((i) => i.metadata.name);

  it('share Coder reads: eight at once cost at most two', async () => {
    h.fake.knobs.routeLatencyMs.set(LIST, 300);
    const before = h.fake.counters.get(LIST);
    const answers = await Promise.all(Array.from({ length: 8 }, () => h.request('GET', WORKSPACES)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(new Set(answers.map((a) => JSON.stringify(names(a)))).size).toBe(1);
    expect(h.fake.counters.get(LIST) - before).toBeLessThanOrEqual(2);
  });

  it('never answer from a read that began before they were asked: a workspace made meanwhile is in the later LIST', async () => {
    h.fake.knobs.routeLatencyMs.set(LIST, 300);
    const early = h.request('GET', WORKSPACES);
    await eventually('the first LIST to be in flight', () => Promise.resolve(h.api.server.inflight > 0 || undefined));
    await createWorkspaceInCoder(h.fake, 'bob', 'meanwhile');
    const late = await h.request('GET', WORKSPACES);
    expect(names(late)).toContain('coder.bob.meanwhile');
    expect((await early).status).toBe(200);
  });
});

describe('CoderWorkspace writes', () => {
  it('creates a workspace that starts', async () => {
    const res = await h.request('POST', WORKSPACES, { body: workspace('coder.bob.fresh', { ttlMillis: 3_600_000 }) });
    expect(res.status).toBe(201);
    expect(res.body.spec).toMatchObject({ running: true, ttlMillis: 3_600_000, templateName: 'docker' });
    const done = await settled('coder.bob.fresh');
    expect(done.body.status.latestBuildStatus).toBe('running');
  });

  it('creates a stopped workspace when running is false: the stop follows the first build within the request', async () => {
    const res = await h.request('POST', WORKSPACES, { body: workspace('coder.bob.cold', { running: false }) });
    expect(res.status).toBe(201);
    expect(res.headers.warning).toBeUndefined();
    expect(res.body.status.latestBuildTransition).toBe('stop');
    expect(res.body.spec.running).toBe(false);
    const done = await eventually('stop', async () => {
      const got = await get('coder.bob.cold');
      return got.body.status.latestBuildStatus === 'stopped' ? got : undefined;
    });
    expect(done.body.spec.running).toBe(false);
  });

  it('says so when the first build outlasts the wait on a create with running false, and leaves nothing queued', async () => {
    h.fake.knobs.pauseJobs();
    const res = await h.request('POST', WORKSPACES, { body: workspace('coder.bob.slow-cold', { running: false }) });
    expect(res.status).toBe(201);
    expect(res.headers.warning).toContain('spec.running is false, but the first build is still running after 3s; apply spec.running: false again once it finishes');
    expect(res.body.spec.running).toBe(true);
    h.fake.knobs.resumeJobs();
    const done = await settled('coder.bob.slow-cold');
    expect(done.body.status).toMatchObject({ latestBuildTransition: 'start', latestBuildStatus: 'running' });
    expect(h.api.background.size).toBe(0);
  });

  it('stops and starts through spec.running', async () => {
    const current = await get('coder.alice.dev');
    const stopped = await h.request('PATCH', `${WORKSPACES}/coder.alice.dev`, {
      body: { spec: { running: false } },
      contentType: 'application/merge-patch+json',
    });
    expect(stopped.status).toBe(200);
    expect(stopped.body.status.latestBuildTransition).toBe('stop');
    expect(stopped.body.spec.running).toBe(false);
    expect(stopped.body.metadata.resourceVersion).not.toBe(current.body.metadata.resourceVersion);
    await settled('coder.alice.dev');
    const started = await h.request('PATCH', `${WORKSPACES}/coder.alice.dev`, {
      body: { spec: { running: true } },
      contentType: 'application/merge-patch+json',
    });
    expect(started.body.status.latestBuildTransition).toBe('start');
  });

  it('answers 201 with a Warning when Coder refuses the stop of a create with running false', async () => {
    h.fake.knobs.failNext({ method: 'POST', path: /^\/api\/v2\/workspaces\/[^/]+\/builds$/, status: 500 });
    const res = await h.request('POST', WORKSPACES, { body: workspace('coder.bob.refused', { running: false }) });
    expect(res.status).toBe(201);
    expect(res.headers.warning).toContain('spec.running is false, but the stop build was refused');
    expect((await get('coder.bob.refused')).status).toBe(200);
  });

  it('changes nothing when Coder refuses the build of an update (another build started meanwhile)', async () => {
    const before = await settled('coder.alice.dev');
    h.fake.knobs.failNext({ method: 'POST', path: /^\/api\/v2\/workspaces\/[^/]+\/builds$/, status: 409, body: { message: 'A build is already in progress.' } });
    const res = await h.request('PATCH', `${WORKSPACES}/coder.alice.dev`, {
      body: { spec: { running: !before.body.spec.running, ttlMillis: 5_400_000 } },
      contentType: 'application/merge-patch+json',
    });
    expect(res.status).toBe(409);
    expect((await get('coder.alice.dev')).body.spec.ttlMillis).toBe(before.body.spec.ttlMillis);
  });

  it('refuses a transition behind a running build with 409 and Retry-After, changing nothing, and keeps no intent', async () => {
    h.fake.knobs.pauseJobs();
    const created = await h.request('POST', WORKSPACES, { body: workspace('coder.bob.busy') });
    expect(created.status).toBe(201);
    const builds = h.fake.counters.get(BUILDS);
    const patched = await h.request('PATCH', `${WORKSPACES}/coder.bob.busy`, {
      body: { spec: { running: false, ttlMillis: 7_200_000 } },
      contentType: 'application/merge-patch+json',
    });
    expect(patched.status).toBe(409);
    expect(patched.headers['retry-after']).toBe('5');
    expect(patched.body).toMatchObject({
      kind: 'Status',
      reason: 'Conflict',
      details: { name: 'coder.bob.busy', retryAfterSeconds: 5 },
      message: 'Operation cannot be fulfilled on coderworkspaces.aggregation.coder.com "coder.bob.busy": a start build is still running; apply the stop again once it finishes',
    });
    expect(h.fake.counters.get(BUILDS)).toBe(builds);
    // Refused as a whole: the TTL did not change either.
    expect((await get('coder.bob.busy')).body.spec.ttlMillis).toBe(created.body.spec.ttlMillis);
    // Nothing is remembered: once the build finishes, no stop is issued on its own.
    h.fake.knobs.resumeJobs();
    const started = await settled('coder.bob.busy');
    expect(started.body.status).toMatchObject({ latestBuildTransition: 'start', latestBuildStatus: 'running' });
    expect(h.fake.counters.get(BUILDS)).toBe(builds);
    expect(h.api.background.size).toBe(0);
    // The retry the client was told to make succeeds.
    const retried = await h.request('PATCH', `${WORKSPACES}/coder.bob.busy`, {
      body: { spec: { running: false, ttlMillis: 7_200_000 } },
      contentType: 'application/merge-patch+json',
    });
    expect(retried.status).toBe(200);
    expect(retried.body.status.latestBuildTransition).toBe('stop');
    expect(retried.body.spec.ttlMillis).toBe(7_200_000);
  });

  it('records a template version change on a stopped workspace with a stop build', async () => {
    const docker = await h.request('GET', '/apis/aggregation.coder.com/v1alpha1/namespaces/coder/codertemplates/coder.docker');
    const changed = structuredClone(docker.body);
    changed.spec.files = { 'main.tf': 'v2 of docker' };
    const v2 = (await h.request('PUT', '/apis/aggregation.coder.com/v1alpha1/namespaces/coder/codertemplates/coder.docker', { body: changed })).body.status
      .activeVersionID as string;
    await h.request('PATCH', `${WORKSPACES}/coder.alice.dev`, { body: { spec: { running: false } }, contentType: 'application/merge-patch+json' });
    await settled('coder.alice.dev');
    const res = await h.request('PATCH', `${WORKSPACES}/coder.alice.dev`, {
      body: { spec: { templateVersionID: v2 } },
      contentType: 'application/merge-patch+json',
    });
    expect(res.status).toBe(200);
    expect(res.body.status).toMatchObject({ latestBuildTransition: 'stop', templateVersionID: v2 });
    expect(res.body.spec).toMatchObject({ running: false, templateVersionID: v2 });
  });

  it('refuses names that are Coder aliases', async () => {
    const res = await get('coder.me.sandbox');
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('alias');
  });

  it('updates ttl and autostart schedule', async () => {
    const current = await get('coder.alice.dev');
    const desired = structuredClone(current.body);
    desired.spec.ttlMillis = 7_200_000;
    desired.spec.autostartSchedule = 'CRON_TZ=UTC 30 9 * * 1-5';
    const res = await h.request('PUT', `${WORKSPACES}/coder.alice.dev`, { body: desired });
    expect(res.status).toBe(200);
    expect(res.body.spec).toMatchObject({ ttlMillis: 7_200_000, autostartSchedule: 'CRON_TZ=UTC 30 9 * * 1-5' });
  });

  it('rejects changes to immutable fields and stale versions', async () => {
    const current = await get('coder.alice.dev');
    const moved = structuredClone(current.body);
    moved.spec.templateName = 'kubernetes';
    const res = await h.request('PUT', `${WORKSPACES}/coder.alice.dev`, { body: moved });
    expect(res.status).toBe(422);
    expect(res.body.details.causes[0]).toMatchObject({ field: 'spec.templateName' });
    const stale = structuredClone(current.body);
    stale.metadata.resourceVersion = '1';
    stale.spec.ttlMillis = 60_000;
    expect((await h.request('PUT', `${WORKSPACES}/coder.alice.dev`, { body: stale })).status).toBe(409);
  });

  it('deletes through a delete build and the object disappears', async () => {
    await h.request('POST', WORKSPACES, { body: workspace('coder.bob.temp') });
    await settled('coder.bob.temp');
    const res = await h.request('DELETE', `${WORKSPACES}/coder.bob.temp`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ kind: 'Status', status: 'Success' });
    expect((await get('coder.bob.temp')).status).toBe(404);
  });

  it('answers 202 with the deleting object when the delete build outlasts the wait', async () => {
    await h.request('POST', WORKSPACES, { body: workspace('coder.bob.slowdel') });
    await settled('coder.bob.slowdel');
    h.fake.knobs.pauseJobs();
    const res = await h.request('DELETE', `${WORKSPACES}/coder.bob.slowdel`);
    expect(res.status).toBe(202);
    expect(res.body.metadata.deletionTimestamp).toBeDefined();
    expect(res.body.status.latestBuildTransition).toBe('delete');
    const again = await h.request('DELETE', `${WORKSPACES}/coder.bob.slowdel`);
    expect(again.status).toBe(202);
    h.fake.knobs.resumeJobs();
    await eventually('deletion', async () => ((await get('coder.bob.slowdel')).status === 404 ? true : undefined));
  });

  it('reports a failed delete build instead of pretending it is pending', async () => {
    await h.request('POST', WORKSPACES, { body: workspace('coder.bob.stubborn') });
    await settled('coder.bob.stubborn');
    h.fake.knobs.failNextJobs({ transition: 'delete', error: 'terraform destroy failed' });
    const res = await h.request('DELETE', `${WORKSPACES}/coder.bob.stubborn`);
    expect(res.status).toBe(500);
    expect(res.body.message).toContain('terraform destroy failed');
    expect((await get('coder.bob.stubborn')).status).toBe(200);
  });

  it('names the field for bad input', async () => {
    const noTemplate = await h.request('POST', WORKSPACES, { body: { ...workspace('coder.bob.x'), spec: { organization: 'coder' } } });
    expect(noTemplate.status).toBe(422);
    expect(noTemplate.body.details.causes[0]).toMatchObject({ field: 'spec.templateName', type: 'FieldValueRequired' });
    const unknownTemplate = await h.request('POST', WORKSPACES, { body: workspace('coder.bob.x', { templateName: 'ghost' }) });
    expect(unknownTemplate.status).toBe(422);
    expect(unknownTemplate.body.message).toContain('template "ghost" does not exist');
    const badTtl = await h.request('POST', WORKSPACES, { body: workspace('coder.bob.x', { ttlMillis: 'soon' }) });
    expect(badTtl.status).toBe(422);
    expect(badTtl.body.details.causes[0].field).toBe('spec.ttlMillis');
    const duplicate = await h.request('POST', WORKSPACES, { body: workspace('coder.alice.dev') });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.reason).toBe('AlreadyExists');
  });
});
