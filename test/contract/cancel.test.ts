// Contract: the provisioner queue and cancelling jobs, with one provisioner daemon so jobs
// queue behind a running one (a SLOW_TF build), against the fake and a real Coder v2.30.0.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { TemplateVersion, Workspace, WorkspaceBuild } from '../../pkg/coder/types.ts';
import { OK_TF, SLOW_TF, createTemplate, createVersion, follow, followBuild, uniqueName } from './helpers.ts';
import { TARGETS, startTarget } from './targets.ts';
import type { Target } from './targets.ts';

// Real Terraform builds on a shared 2-core machine: each test gets more than the global 60 s.
jest.setTimeout(180_000);

const CANCELED = { message: 'Job has been marked as canceled...' };

describe.each(TARGETS)('%s Coder', (name) => {
  let t: Target;
  beforeAll(async () => {
    t = await startTarget(name, { provisionerDaemons: 1 });
  }, 120_000);
  afterAll(async () => {
    await t.stop();
  });

  const getBuild = async (id: string): Promise<WorkspaceBuild> => (await t.api.get(`/workspacebuilds/${id}`)).body as WorkspaceBuild;
  const getVersion = async (id: string): Promise<TemplateVersion> => (await t.api.get(`/templateversions/${id}`)).body as TemplateVersion;

  it('jobs beyond the daemons queue (queue_position 1, 2, …); a pending job cancels at once, a running one goes canceling then failed', async () => {
    const slow = await createTemplate(t.api, SLOW_TF);
    const ok = await createTemplate(t.api, OK_TF);

    // A: running (slow); B: a build and C: an import, both queued behind it.
    const a = await t.client.createWorkspace('me', { name: uniqueName('a'), template_id: slow.id });
    await follow('A to run', () => getBuild(a.latest_build.id), (b) => b.job.status, (b) => b.job.status === 'running');
    const b = await t.client.createWorkspace('me', { name: uniqueName('b'), template_id: ok.id });
    const c = await createVersion(t.api, OK_TF);
    // The creating POST reports 0/0; a GET tells the place in the queue.
    expect(b.latest_build.job).toMatchObject({ status: 'pending', queue_position: 0, queue_size: 0 });
    expect((await getBuild(b.latest_build.id)).job).toMatchObject({ status: 'pending', queue_position: 1, queue_size: 2 });
    expect((await getVersion(c.id)).job).toMatchObject({ status: 'pending', queue_position: 2, queue_size: 2 });
    expect((await t.api.get(`/templateversions/${c.id}/logs`)).body).toEqual([]);

    // Cancel C (an import) and B (a build) while pending: canceled at once.
    const bogus = await t.api.call('PATCH', `/workspacebuilds/${b.latest_build.id}/cancel?expect_status=bogus`);
    expect([bogus.status, bogus.body]).toEqual([400, { message: `Invalid expect_status "bogus". Only 'running' or 'pending' are allowed.` }]);
    const wrong = await t.api.call('PATCH', `/workspacebuilds/${b.latest_build.id}/cancel?expect_status=running`);
    expect([wrong.status, wrong.body]).toEqual([412, { message: 'Job is not in the expected state.' }]);
    expect((await t.api.call('PATCH', `/templateversions/${c.id}/cancel`)).body).toEqual(CANCELED);
    expect((await getBuild(b.latest_build.id)).job).toMatchObject({ status: 'pending', queue_position: 1, queue_size: 1 });
    const cancelB = await t.api.call('PATCH', `/workspacebuilds/${b.latest_build.id}/cancel?expect_status=pending`);
    expect([cancelB.status, cancelB.body]).toEqual([200, CANCELED]);
    const bDone = await getBuild(b.latest_build.id);
    expect(bDone).toMatchObject({ status: 'canceled', job: { status: 'canceled' } });
    expect(bDone.job.canceled_at).toEqual(expect.any(String));
    expect(bDone.job.completed_at).toEqual(expect.any(String));
    expect(bDone.job.error).toBeUndefined();
    expect((await getVersion(c.id)).job).toMatchObject({ status: 'canceled' });
    // A canceled pending job counts as completed.
    const again = await t.api.call('PATCH', `/workspacebuilds/${b.latest_build.id}/cancel`);
    expect([again.status, again.body]).toEqual([400, { message: 'Job has already completed!' }]);
    expect(((await t.api.get(`/workspaces/${b.id}`)).body as Workspace).latest_build.status).toBe('canceled');

    // Cancel A while running: canceling (no new build meanwhile), then failed with canceled_at set.
    const cancelA = await t.api.call('PATCH', `/workspacebuilds/${a.latest_build.id}/cancel?expect_status=running`);
    expect([cancelA.status, cancelA.body]).toEqual([200, CANCELED]);
    const canceling = await getBuild(a.latest_build.id);
    if (canceling.job.status === 'canceling') {
      expect(canceling.status).toBe('canceling');
      const busy = await t.api.post(`/workspaces/${a.id}/builds`, { transition: 'stop' });
      expect(busy.status).toBe(409);
      const twice = await t.api.call('PATCH', `/workspacebuilds/${a.latest_build.id}/cancel`);
      expect([twice.status, twice.body]).toEqual([400, { message: 'Job has already been marked as canceled!' }]);
    }
    const aDone = await followBuild(t.api, a.latest_build.id);
    expect(aDone.statuses.join(' → ')).toMatch(/^(canceling\/canceling → )?failed\/failed$/);
    expect(aDone.last.job).toMatchObject({ status: 'failed', error: 'terraform apply: exit status 1' });
    expect(aDone.last.job.canceled_at).toEqual(expect.any(String));
    expect(aDone.last.job.completed_at).toEqual(expect.any(String));
    const aLogs = (await t.api.get(`/workspacebuilds/${a.latest_build.id}/logs`)).body as { log_level: string; output: string }[];
    expect(aLogs.some((l) => l.log_level === 'error' && l.output.startsWith('Error: '))).toBe(true);
    const late = await t.api.call('PATCH', `/workspacebuilds/${a.latest_build.id}/cancel`);
    expect([late.status, late.body]).toEqual([400, { message: 'Job has already completed!' }]);

    // The daemon is free again: B builds.
    const restart = await t.client.createWorkspaceBuild(b.id, { transition: 'start' });
    expect(restart.build_number).toBe(2);
    expect((await followBuild(t.api, restart.id)).last.status).toBe('running');
  });

  it('a finished job cannot be canceled', async () => {
    const template = await createTemplate(t.api);
    const ws = await t.client.createWorkspace('me', { name: uniqueName('w'), template_id: template.id });
    await followBuild(t.api, ws.latest_build.id);
    const res = await t.api.call('PATCH', `/workspacebuilds/${ws.latest_build.id}/cancel`);
    expect([res.status, res.body]).toEqual([400, { message: 'Job has already completed!' }]);
  });
});
