// Contract: template version imports (statuses, job.error, logs) and templates (name rules,
// failed versions, deletion, metadata updates), against the fake and a real Coder v2.30.0.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Template, UpdateTemplateMeta } from '../../pkg/coder/types.ts';
import { BROKEN_TF, OK_TF, createTemplate, createVersion, followBuild, followImport, importedVersion, keys, keysWithout, uniqueName } from './helpers.ts';
import { TARGETS, startTarget } from './targets.ts';
import type { Target } from './targets.ts';

// Real Terraform builds on a shared 2-core machine: each test gets more than the global 60 s.
jest.setTimeout(180_000);

const IMPORT_ERROR = 'template import init error: initialize terraform: exit status 1';

/** Keys of a TemplateVersion; matched_provisioners only in the creating POST's answer. */
const VERSION_KEYS = ['archived', 'created_at', 'created_by', 'has_external_agent', 'id', 'job', 'message', 'name', 'organization_id', 'readme', 'template_id', 'updated_at'];
const JOB_KEYS = ['created_at', 'file_id', 'id', 'initiator_id', 'input', 'logs_overflowed', 'metadata', 'organization_id', 'queue_position', 'queue_size', 'status', 'tags', 'type'];
const EMPTY_METADATA = { template_version_name: '', template_id: '00000000-0000-0000-0000-000000000000', template_name: '', template_display_name: '', template_icon: '' };
const TEMPLATE_KEYS = [
  'active_user_count', 'active_version_id', 'activity_bump_ms', 'allow_user_autostart', 'allow_user_autostop', 'allow_user_cancel_workspace_jobs',
  'autostart_requirement', 'autostop_requirement', 'build_time_stats', 'cors_behavior', 'created_at', 'created_by_id', 'created_by_name', 'default_ttl_ms',
  'deprecated', 'deprecation_message', 'description', 'display_name', 'failure_ttl_ms', 'icon', 'id', 'max_port_share_level', 'name',
  'organization_display_name', 'organization_icon', 'organization_id', 'organization_name', 'provisioner', 'require_active_version',
  'time_til_dormant_autodelete_ms', 'time_til_dormant_ms', 'updated_at', 'use_classic_parameter_flow',
];
const LOG_KEYS = ['created_at', 'id', 'log_level', 'log_source', 'output', 'stage'];

/** What the product sends on PATCH /templates/{id}: every field, as read (pkg/storage/templates). */
function metaOf(t: Template): UpdateTemplateMeta {
  return {
    name: t.name, display_name: t.display_name, description: t.description, icon: t.icon, default_ttl_ms: t.default_ttl_ms, activity_bump_ms: t.activity_bump_ms,
    autostop_requirement: t.autostop_requirement, autostart_requirement: t.autostart_requirement,
    allow_user_autostart: t.allow_user_autostart, allow_user_autostop: t.allow_user_autostop,
    allow_user_cancel_workspace_jobs: t.allow_user_cancel_workspace_jobs, failure_ttl_ms: t.failure_ttl_ms,
    time_til_dormant_ms: t.time_til_dormant_ms, time_til_dormant_autodelete_ms: t.time_til_dormant_autodelete_ms,
    require_active_version: t.require_active_version, max_port_share_level: t.max_port_share_level,
    use_classic_parameter_flow: t.use_classic_parameter_flow,
  };
}

describe.each(TARGETS)('%s Coder', (name) => {
  let t: Target;
  let orgId: string;
  beforeAll(async () => {
    t = await startTarget(name);
    orgId = (await t.client.getOrganization('coder')).id;
  }, 120_000);
  afterAll(async () => {
    await t.stop();
  });

  describe('template version import', () => {
    it('201 pending (a daemon is free), then running, then succeeded; the log tells the stages', async () => {
      const created = await createVersion(t.api, OK_TF);
      expect(keys(created)).toEqual([...VERSION_KEYS, 'matched_provisioners'].sort());
      expect(keys(created.matched_provisioners)).toEqual(['available', 'count', 'most_recently_seen']);
      expect(keys(created.job)).toEqual(JOB_KEYS);
      expect(created.job).toMatchObject({ status: 'pending', queue_position: 0, queue_size: 0, type: 'template_version_import', input: { template_version_id: created.id }, metadata: EMPTY_METADATA, tags: { owner: '', scope: 'organization' } });
      expect(created).toMatchObject({ template_id: '00000000-0000-0000-0000-000000000000', archived: false, message: '', readme: '' });
      expect(keys(created.created_by)).toEqual(['id', 'name', 'username']);
      expect(created.name).toMatch(/^[a-z]+_[a-z]+\d*$/);

      const { statuses, last } = await followImport(t.api, created.id);
      expect(statuses.join(' → ')).toMatch(/^(pending → )?running → succeeded$/);
      expect(keys(last)).toEqual(VERSION_KEYS);
      expect(keys(last.job)).toEqual([...JOB_KEYS, 'completed_at', 'started_at', 'worker_id'].sort());
      expect(last.job.error).toBeUndefined();
      // The version is updated when its import completes; real Coder sometimes writes it again
      // a moment later (seen 0.66 s after completed_at), so it is never before completion.
      expect(Date.parse(last.updated_at)).toBeGreaterThanOrEqual(Date.parse(last.job.completed_at ?? ''));

      const logs = await t.client.templateVersionLogs(created.id);
      expect(logs.length).toBeGreaterThan(5);
      for (const log of logs) expect(keys(log)).toEqual(LOG_KEYS);
      expect(logs.map((l) => l.id)).toEqual([...logs.map((l) => l.id)].sort((a, b) => a - b));
      expect(logs[0]).toMatchObject({ log_source: 'provisioner_daemon', log_level: 'info', stage: 'Setting up', output: '' });
      expect(logs.at(-1)).toMatchObject({ log_source: 'provisioner_daemon', stage: 'Cleaning Up', output: '' });
      expect(new Set(logs.map((l) => l.stage))).toEqual(
        new Set(['Setting up', 'Initializing Terraform Directory', 'Parsing template parameters', 'Detecting persistent resources', 'Detecting ephemeral resources', 'Cleaning Up']),
      );
      expect(logs.every((l) => l.log_level === 'info')).toBe(true);
      // ?after=<id> returns the lines after it; `before` is ignored.
      const mid = logs[2]?.id ?? 0;
      expect((await t.api.get(`/templateversions/${created.id}/logs?after=${String(mid)}`)).body).toEqual(logs.filter((l) => l.id > mid));
      expect((await t.api.get(`/templateversions/${created.id}/logs?before=${String(mid)}`)).body).toEqual(logs);
      const bad = await t.api.get(`/templateversions/${created.id}/logs?after=abc`);
      expect([bad.status, bad.body]).toEqual([400, { message: 'Query param "after" must be an integer.', validations: [{ field: 'after', detail: 'Must be an integer' }] }]);
    });

    it('a broken template fails with a generic job.error; the diagnostic is only in the log', async () => {
      const created = await createVersion(t.api, BROKEN_TF);
      const { statuses, last } = await followImport(t.api, created.id);
      expect(statuses.join(' → ')).toMatch(/^(pending → )?(running → )?failed$/);
      expect(last.job.status).toBe('failed');
      expect(last.job.error).toBe(IMPORT_ERROR);
      expect(last.job.error_code).toBeUndefined();
      expect((await t.client.getTemplateVersion(created.id)).job.error).toBe(IMPORT_ERROR);

      const logs = await t.client.templateVersionLogs(created.id);
      const errors = logs.filter((l) => l.log_level === 'error').map((l) => l.output);
      expect(errors.find((l) => l.startsWith('Error: '))).toBeDefined();
      expect(errors.find((l) => /^ {2}on main\.tf line 2[,:]/.test(l))).toBeDefined();
      expect(errors).toContain('   2:   this is not valid hcl # coder-fake:fail');
      for (const l of logs.filter((x) => x.log_level === 'error')) expect(l).toMatchObject({ log_source: 'provisioner', stage: 'Initializing Terraform Directory' });
      expect(logs.at(-1)).toMatchObject({ stage: 'Cleaning Up' });
    });
  });

  describe('templates', () => {
    it('create: 201, the submitted case kept; names unique case-insensitively (409); underscores 400', async () => {
      const version = await importedVersion(t.api, OK_TF);
      const name = uniqueName('MyTpl');
      const created = await t.client.createTemplate(orgId, { name, template_version_id: version.id });
      expect(keys(created)).toEqual(TEMPLATE_KEYS);
      expect(created).toMatchObject({ name, active_version_id: version.id, provisioner: 'terraform', created_by_name: 'admin', organization_name: 'coder', deprecated: false, default_ttl_ms: 0, activity_bump_ms: 3_600_000 });
      // AGPL cannot restrict port sharing: every template reports public.
      expect(created.max_port_share_level).toBe('public');
      expect((await t.client.getTemplateByName(orgId, name.toLowerCase())).id).toBe(created.id);
      expect((await t.client.getTemplateByName('coder', name.toUpperCase())).id).toBe(created.id);
      expect((await t.client.getTemplateVersion(version.id)).template_id).toBe(created.id);

      const other = await importedVersion(t.api, OK_TF);
      const clash = await t.api.post('/organizations/coder/templates', { name: name.toLowerCase(), template_version_id: other.id });
      expect([clash.status, clash.body]).toEqual([
        409,
        { message: `Template with name "${name.toLowerCase()}" already exists.`, validations: [{ field: 'name', detail: 'This value is already in use and should be unique.' }] },
      ]);
      const underscore = await t.api.post('/organizations/coder/templates', { name: 'my_tpl', template_version_id: other.id });
      expect([underscore.status, underscore.body]).toEqual([400, { message: 'Validation failed.', validations: [{ field: 'name', detail: 'Validation failed for tag "template_name" with value: "my_tpl"' }] }]);
      // A version already attached to a template cannot make another one.
      const reuse = await t.api.post('/organizations/coder/templates', { name: uniqueName('reuse'), template_version_id: version.id });
      expect([reuse.status, reuse.body]).toEqual([
        400,
        { message: `Template version ${version.id} is already part of a template`, validations: [{ field: 'template_version_id', detail: 'Template version is already part of a template' }] },
      ]);
      // GET /templates is a plain array.
      const list = await t.api.get('/templates');
      expect(Array.isArray(list.body)).toBe(true);
      expect((await t.client.listTemplates()).map((x) => x.id)).toContain(created.id);
    });

    it('a failed version still makes a template (201), but no workspace (400), and cannot be promoted', async () => {
      const failed = await importedVersion(t.api, BROKEN_TF);
      expect(failed.job.status).toBe('failed');
      const template = await t.client.createTemplate(orgId, { name: uniqueName('broken'), template_version_id: failed.id });
      expect(template.active_version_id).toBe(failed.id);
      const ws = await t.api.post('/users/me/workspaces', { name: uniqueName('w'), template_id: template.id });
      const msg = `The provided template version "${failed.name}" has failed to import: "${IMPORT_ERROR}". You cannot build workspaces with it!`;
      expect([ws.status, ws.body]).toEqual([400, { message: msg, detail: msg }]);

      // A succeeded version of that template can be promoted; the failed one cannot come back.
      const good = await importedVersion(t.api, OK_TF, { template_id: template.id });
      await t.client.updateActiveTemplateVersion(template.id, good.id);
      expect((await t.client.getTemplate(template.id)).active_version_id).toBe(good.id);
      const back = await t.api.patch(`/templates/${template.id}/versions`, { id: failed.id });
      expect([back.status, back.body]).toEqual([403, { message: 'Only versions that have been built successfully can be promoted.', detail: 'Attempted to promote a version with a failed build' }]);
      const versions = await t.client.listTemplateVersions(template.id);
      expect(versions.map((v) => v.id).sort()).toEqual([failed.id, good.id].sort());
    });

    it('versions of a template: named ones, unique per template case-sensitively (409), found by name', async () => {
      const template = await createTemplate(t.api);
      const fileId = (await t.client.getTemplateVersion(template.active_version_id)).job.file_id;
      const v2 = await t.client.createTemplateVersion(orgId, { name: 'v2', template_id: template.id, storage_method: 'file', file_id: fileId, provisioner: 'terraform', tags: null });
      expect(v2).toMatchObject({ name: 'v2', template_id: template.id, job: { file_id: fileId, status: 'pending' } });
      const dup = await t.api.post('/organizations/coder/templateversions', { name: 'v2', template_id: template.id, storage_method: 'file', file_id: fileId, provisioner: 'terraform' });
      expect([dup.status, dup.body]).toEqual([
        409,
        { message: 'A template version with name "v2" already exists for this template.', validations: [{ field: 'name', detail: 'This value is already in use and should be unique.' }] },
      ]);
      // Unlike template and workspace names, version names differ by case.
      const upper = await t.api.post('/organizations/coder/templateversions', { name: 'V2', template_id: template.id, storage_method: 'file', file_id: fileId, provisioner: 'terraform' });
      expect(upper.status).toBe(201);
      await followImport(t.api, (upper.body as { id: string }).id);
      expect((await t.api.get(`/templates/${template.id}/versions/v2`)).body).toMatchObject({ id: v2.id });
      const missing = await t.api.get(`/templates/${template.id}/versions/nope`);
      expect([missing.status, missing.body]).toEqual([404, { message: 'No template version found by name "nope".' }]);
      const unknownFile = await t.api.post('/organizations/coder/templateversions', { storage_method: 'file', file_id: '11111111-1111-1111-1111-111111111111', provisioner: 'terraform' });
      expect(unknownFile.status).toBe(404);
      expect(unknownFile.body).toMatchObject({ message: 'File not found.' });
      await followImport(t.api, v2.id);
      expect((await t.client.listTemplateVersions(template.id)).map((v) => v.name)).toContain('v2');
    });

    it('a template made from a still-importing version is 201 too', async () => {
      const pending = await createVersion(t.api, OK_TF);
      const template = await t.client.createTemplate(orgId, { name: uniqueName('early'), template_version_id: pending.id });
      expect(template.active_version_id).toBe(pending.id);
      await followImport(t.api, pending.id);
    });

    it('delete: 400 while workspaces exist, then 200; a deleted template is 404', async () => {
      const template = await createTemplate(t.api);
      const ws = await t.client.createWorkspace('me', { name: uniqueName('w'), template_id: template.id });
      await followBuild(t.api, ws.latest_build.id);
      const refused = await t.api.delete(`/templates/${template.id}`);
      expect([refused.status, refused.body]).toEqual([400, { message: 'All workspaces must be deleted before a template can be removed.' }]);
      const err = await t.client.deleteTemplate(template.id).catch((e: unknown) => e);
      expect(err).toMatchObject({ statusCode: 400, coderMessage: 'All workspaces must be deleted before a template can be removed.' });

      const del = await t.client.createWorkspaceBuild(ws.id, { transition: 'delete' });
      await followBuild(t.api, del.id);
      const ok = await t.api.delete(`/templates/${template.id}`);
      expect([ok.status, ok.body]).toEqual([200, { message: 'Template has been deleted!' }]);
      expect((await t.api.get(`/templates/${template.id}`)).status).toBe(404);
      expect((await t.api.get(`/organizations/coder/templates/${template.name}`)).status).toBe(404);
    });

    it('metadata: the product’s full PATCH answers 304 when nothing changed, 200 when something did', async () => {
      const { id } = await createTemplate(t.api);
      const current = await t.client.getTemplate(id);
      expect(await t.client.updateTemplateMeta(id, metaOf(current))).toBeUndefined();
      const changed = await t.client.updateTemplateMeta(id, { ...metaOf(current), description: 'changed', default_ttl_ms: 7_200_000 });
      expect(changed).toMatchObject({ description: 'changed', default_ttl_ms: 7_200_000 });
      // Omitted non-pointer fields reset to zero (v2.30): activity_bump_ms and default_ttl_ms.
      const partial = await t.client.updateTemplateMeta(id, { name: current.name, description: 'changed', allow_user_autostart: true, allow_user_autostop: true });
      expect(partial).toMatchObject({ default_ttl_ms: 0, activity_bump_ms: 0, description: 'changed' });
    });

    it('AGPL: restricting port sharing is refused; enterprise scheduling settings are ignored (200, unchanged)', async () => {
      const { id } = await createTemplate(t.api);
      const current = await t.client.getTemplate(id);
      const owner = await t.api.patch(`/templates/${id}`, { ...metaOf(current), max_port_share_level: 'owner' });
      expect([owner.status, owner.body]).toEqual([
        400,
        { message: 'Invalid request to update template metadata!', validations: [{ field: 'max_port_sharing_level', detail: 'Restricting port sharing level is an enterprise feature that is not enabled.' }] },
      ]);
      const version = await importedVersion(t.api, OK_TF);
      const create = await t.api.post('/organizations/coder/templates', { name: uniqueName('ps'), template_version_id: version.id, max_port_share_level: 'public' });
      expect([create.status, create.body]).toEqual([
        400,
        { message: 'Invalid create template request.', validations: [{ field: 'max_port_share_level', detail: 'Restricting port sharing level is an enterprise feature that is not enabled.' }] },
      ]);
      const enterprise = { failure_ttl_ms: 7_200_000, time_til_dormant_ms: 7_200_000, require_active_version: true, deprecation_message: 'old', autostop_requirement: { days_of_week: ['monday'], weeks: 2 } };
      const ignored = await t.api.patch(`/templates/${id}`, { ...metaOf(current), ...enterprise });
      expect(ignored.status).toBe(200);
      const after = await t.client.getTemplate(id);
      expect(after).toMatchObject({ failure_ttl_ms: 0, time_til_dormant_ms: 0, require_active_version: false, deprecation_message: '', deprecated: false, autostop_requirement: { days_of_week: [], weeks: 1 } });
      expect(keysWithout(after, ['updated_at'])).toEqual(keysWithout(current, ['updated_at']));
    });
  });
});
