// Contract: deployment-wide endpoints, error envelopes, licensing per edition, and file
// uploads, against the fake and a real Coder v2.30.0 (AGPL). See test/contract/README.md.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { CoderClient } from '../../pkg/coder/client.ts';
import { CoderApiError } from '../../pkg/coder/errors.ts';
import { packTar, readTar, startFakeCoder } from '../fakes/coderd/index.ts';
import { writeZip } from '../fakes/coderd/zip.ts';
import { Api } from '../fakes/coderd/testutil.ts';
import { OK_TF, TAR, keys, upload, uniqueName } from './helpers.ts';
import { TARGETS, freshSeed, startTarget } from './targets.ts';
import type { Target } from './targets.ts';

// Real Terraform builds on a shared 2-core machine: each test gets more than the global 60 s.
jest.setTimeout(180_000);

const SIGNED_OUT = 'You are signed out or your session has expired. Please sign in again to continue.';
const NOT_FOUND = 'Resource not found or you do not have access to this resource';

describe.each(TARGETS)('%s Coder', (name) => {
  let t: Target;
  beforeAll(async () => {
    t = await startTarget(name);
  }, 120_000);
  afterAll(async () => {
    await t.stop();
  });

  describe('buildinfo, users/me, organizations', () => {
    it('GET /buildinfo: public, v2.30.0, the build-info fields', async () => {
      const res = await t.api.get('/buildinfo', { token: null });
      expect(res.status).toBe(200);
      expect(keys(res.body)).toEqual([
        'agent_api_version', 'dashboard_url', 'deployment_id', 'external_url', 'provisioner_api_version', 'telemetry', 'upgrade_message', 'version', 'workspace_proxy',
      ]);
      const info = await t.client.buildInfo();
      expect(info.version).toMatch(/^v2\.30\.0(\+.*)?$/);
      expect(info).toMatchObject({ dashboard_url: t.url, telemetry: false, workspace_proxy: false, agent_api_version: '1.0', provisioner_api_version: '1.14', upgrade_message: '' });
      // A build without a commit links to the repository, not to this deployment.
      expect(info.external_url).toBe('https://github.com/coder/coder');
      expect(info.deployment_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get('x-coder-build-version')).toBe(info.version);
      // Go's json.Encoder: one document per line.
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(res.text.endsWith('}\n')).toBe(true);
    });

    it('GET /users/me: the owner, without avatar_url when it has none', async () => {
      const me = await t.client.getUser('me');
      expect(keys(me)).toEqual(['created_at', 'email', 'id', 'last_seen_at', 'login_type', 'name', 'organization_ids', 'roles', 'status', 'updated_at', 'username']);
      expect(me).toMatchObject({ username: 'admin', name: 'Admin', email: 'admin@coder-k8s.test', status: 'active', login_type: 'password', roles: [{ name: 'owner', display_name: 'Owner' }] });
      expect(me.organization_ids).toHaveLength(1);
      // By name and by id, the same user.
      expect((await t.client.getUser('admin')).id).toBe(me.id);
      expect((await t.client.getUser(me.id)).username).toBe('admin');
    });

    it('GET /organizations: a fresh Coder has the default org "coder"', async () => {
      const orgs = await t.client.listOrganizations();
      expect(orgs).toHaveLength(1);
      const [org] = orgs;
      expect(keys(org)).toEqual(['created_at', 'description', 'display_name', 'icon', 'id', 'is_default', 'name', 'updated_at']);
      expect(org).toMatchObject({ name: 'coder', display_name: 'Coder', is_default: true, icon: '', description: 'Builtin default organization.' });
      const me = await t.client.getUser('me');
      expect(me.organization_ids).toEqual([org?.id]);
      for (const ref of ['coder', 'default', org?.id ?? '', 'CODER']) expect((await t.client.getOrganization(ref)).id).toBe(org?.id);
      const missing = await t.api.get('/organizations/nope');
      expect([missing.status, missing.body]).toEqual([404, { message: NOT_FOUND }]);
    });
  });

  describe('users and tokens (the operator bootstrap)', () => {
    it('the first user exists: GET /users/first 200, POST 409', async () => {
      expect(await t.client.hasFirstUser()).toBe(true);
      const first = await t.api.post('/users/first', { email: 'x@example.com', username: 'x', password: 'SomeSecurePassword!' }, { token: null });
      expect([first.status, first.body]).toEqual([409, { message: 'The initial user has already been created.' }]);
    });

    it('a new user is dormant until it logs in; roles; login; token lifetimes', async () => {
      const orgId = (await t.client.getOrganization('coder')).id;
      const username = uniqueName('op');
      const email = `${username}@example.com`;
      const password = 'SomeSecurePassword!';
      const user = await t.client.createUser({ email, username, password, organization_ids: [orgId], login_type: 'password' });
      // No name given: the key is absent (omitempty), as avatar_url.
      expect(keys(user)).toEqual(['created_at', 'email', 'id', 'last_seen_at', 'login_type', 'organization_ids', 'roles', 'status', 'updated_at', 'username']);
      expect(user).toMatchObject({ username, email, status: 'dormant', login_type: 'password', organization_ids: [orgId], roles: [], last_seen_at: '0001-01-01T00:00:00Z' });
      const dup = await t.api.post('/users', { email, username, password, organization_ids: [orgId] });
      expect([dup.status, dup.body]).toEqual([409, { message: 'User already exists.' }]);
      const weak = await t.api.post('/users', { email: `w${email}`, username: `w${username}`, password: 'abc', organization_ids: [orgId] });
      expect([weak.status, weak.body]).toEqual([
        400,
        { message: 'Password is invalid', validations: [{ field: 'password', detail: 'insecure password, try including more special characters, using uppercase letters, using numbers or using a longer password' }] },
      ]);
      const nonePassword = await t.api.post('/users', { email: `n${email}`, username: `n${username}`, password, login_type: 'none', organization_ids: [orgId] });
      expect([nonePassword.status, nonePassword.body]).toEqual([400, { message: 'Password cannot be set for non-password ("none") authentication.' }]);

      const owner = await t.client.updateUserRoles(username, ['owner']);
      expect(owner.roles).toEqual([{ name: 'owner', display_name: 'Owner' }]);
      const badRole = await t.api.put(`/users/${username}/roles`, { roles: ['superhero'] });
      expect([badRole.status, badRole.body]).toEqual([400, { message: '"superhero" is not a supported role' }]);

      const wrong = await t.api.post('/users/login', { email, password: 'WrongPassword!1' }, { token: null });
      expect([wrong.status, wrong.body]).toEqual([401, { message: 'Incorrect email or password.' }]);
      const login = await t.client.login({ email, password });
      expect(keys(login)).toEqual(['session_token']);
      expect((await t.client.getUser(username)).status).toBe('active');

      // Owners' tokens live at most 7 days (--max-admin-token-lifetime).
      const week = 7 * 24 * 3600 * 1e9;
      expect(await t.client.tokenConfig(username)).toEqual({ max_token_lifetime: week });
      const token = await t.client.createToken(username, { token_name: 'coder-k8s', lifetime: 3600 * 1e9 });
      expect(keys(token)).toEqual(['key']);
      expect(token.key).toMatch(/^[a-zA-Z0-9]{10}-[a-zA-Z0-9]{22}$/);
      const again = await t.api.post(`/users/${username}/keys/tokens`, { token_name: 'coder-k8s', lifetime: 3600 * 1e9 });
      expect([again.status, again.body]).toEqual([
        409,
        { message: 'A token with name "coder-k8s" already exists.', validations: [{ field: 'name', detail: 'This value is already in use and should be unique.' }] },
      ]);
      const tooLong = await t.api.post(`/users/${username}/keys/tokens`, { token_name: 'long', lifetime: 10 * week });
      expect([tooLong.status, tooLong.body]).toEqual([400, { message: 'Failed to validate create API key request.', detail: 'lifetime must be less than 168h0m0s' }]);
      const asUser = await t.api.get('/users/me', { token: token.key });
      expect((asUser.body as { username: string }).username).toBe(username);
    });
  });

  describe('error envelopes', () => {
    it('401 without a token, with a malformed one, with an unknown one', async () => {
      const none = await t.api.get('/users/me', { token: null });
      expect([none.status, none.body]).toEqual([401, { message: SIGNED_OUT, detail: 'Cookie "coder_session_token" or query parameter must be provided.' }]);
      const malformed = await t.api.get('/users/me', { token: 'abc' });
      expect([malformed.status, malformed.body]).toEqual([401, { message: SIGNED_OUT, detail: 'Invalid API key format: incorrect amount of API key parts, expected 2 got 1' }]);
      const unknown = await t.api.get('/users/me', { token: 'abcdefghij-abcdefghijabcdefghij12' });
      expect([unknown.status, unknown.body]).toEqual([401, { message: SIGNED_OUT, detail: 'API key is invalid.' }]);
      // The product's client turns it into a CoderApiError with Coder's message and detail.
      const bad = new CoderClient({ url: t.url, token: 'abcdefghij-abcdefghijabcdefghij12' });
      try {
        const err = await bad.getUser('me').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(CoderApiError);
        expect(err).toMatchObject({ statusCode: 401, coderMessage: SIGNED_OUT, detail: 'API key is invalid.' });
      } finally {
        await bad.close();
      }
    });

    it('400 for a malformed UUID, 404 for an unknown one, 400 for an unknown {user}', async () => {
      for (const path of ['/workspaces/abc', '/templates/abc', '/templateversions/abc', '/workspacebuilds/abc', '/templateversions/abc/logs']) {
        const res = await t.api.get(path);
        expect([path, res.status, res.body]).toEqual([path, 400, { message: 'Invalid UUID "abc".', detail: 'invalid UUID length: 3' }]);
      }
      const id = '11111111-1111-1111-1111-111111111111';
      for (const path of [`/workspaces/${id}`, `/templates/${id}`, `/templateversions/${id}`, `/workspacebuilds/${id}`, `/templateversions/${id}/logs`, `/workspacebuilds/${id}/logs`]) {
        const res = await t.api.get(path);
        expect([path, res.status, res.body]).toEqual([path, 404, { message: NOT_FOUND }]);
      }
      const user = await t.api.get('/users/nope');
      expect([user.status, user.body]).toEqual([400, { message: '"user" must be an existing uuid or username.', detail: 'queried user="nope"' }]);
    });

    it('404 "Route not found." for unknown routes, an empty 405 for a known path with another method', async () => {
      for (const path of ['/nonexistent', '/users/me/nope']) {
        const res = await t.api.get(path);
        expect([res.status, res.body]).toEqual([404, { message: 'Route not found.' }]);
        expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      }
      const wrong = await t.api.call('DELETE', '/workspaces');
      expect([wrong.status, wrong.text]).toEqual([405, '']);
    });

    it('400 with Go decoding details for bad JSON; "Validation failed." with validations for bad fields', async () => {
      const bad = await t.api.call('POST', '/users/me/workspaces', { raw: '{bad', headers: { 'Content-Type': 'application/json' } });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ message: 'Request body must be valid JSON.', detail: expect.any(String) });
      const missing = await t.api.post('/users/me/workspaces', { name: 'zz' });
      expect([missing.status, missing.body]).toEqual([
        400,
        {
          message: 'Validation failed.',
          validations: [
            { field: 'template_id', detail: 'Validation failed for tag "required_without" with value: "00000000-0000-0000-0000-000000000000"' },
            { field: 'template_version_id', detail: 'Validation failed for tag "required_without" with value: "00000000-0000-0000-0000-000000000000"' },
          ],
        },
      ]);
      const query = await t.api.get('/workspaces?limit=-1');
      expect([query.status, query.body]).toEqual([
        400,
        { message: 'Query parameters have invalid values.', validations: [{ field: 'limit', detail: 'Query param "limit" must be a valid 32-bit positive integer: value is negative' }] },
      ]);
      const search = await t.api.get(`/workspaces?q=${encodeURIComponent('bogus:1')}`);
      expect([search.status, search.body]).toEqual([400, { message: 'Invalid workspace search query.', validations: [{ field: 'bogus', detail: '"bogus" is not a valid query param' }] }]);
    });
  });

  describe('licensing (AGPL)', () => {
    it('GET /entitlements and /licenses are unknown routes, with or without a token', async () => {
      for (const token of [undefined, null]) {
        for (const path of ['/entitlements', '/licenses']) {
          const res = await t.api.get(path, { token });
          expect([path, res.status, res.body]).toEqual([path, 404, { message: 'Route not found.' }]);
        }
      }
      const post = await t.api.post('/licenses', { license: 'a.b.c' });
      expect([post.status, post.body]).toEqual([404, { message: 'Route not found.' }]);
      const err = await t.client.entitlements().catch((e: unknown) => e);
      expect(err).toMatchObject({ statusCode: 404, coderMessage: 'Route not found.' });
    });
  });

  describe('files', () => {
    it('tar: 201 new, 200 with the same id for identical bytes, 201 for new bytes; downloads as stored', async () => {
      const tar = await packTar({ 'main.tf': `${OK_TF}# ${uniqueName('tar')}\n` });
      const first = await upload(t.api, tar, TAR);
      expect([first.status, keys(first.body)]).toEqual([201, ['hash']]);
      const again = await upload(t.api, tar, TAR);
      expect([again.status, again.body]).toEqual([200, first.body]);
      const other = await upload(t.api, await packTar({ 'main.tf': `${OK_TF}# ${uniqueName('tar')}\n` }), TAR);
      expect(other.status).toBe(201);
      expect(other.body).not.toEqual(first.body);
      // Through the product's client: the same dedup; the download is the tar as uploaded.
      const viaClient = await t.client.uploadFile(tar);
      expect(viaClient).toEqual(first.body);
      const id = (first.body as { hash: string }).hash;
      expect((await t.client.downloadFile(id)).equals(tar)).toBe(true);
      const raw = await t.api.get(`/files/${id}`);
      expect(raw.headers.get('content-type')).toBe(TAR);
    });

    it('zip and x-zip-compressed are stored as tar (the same file for the same content)', async () => {
      const content = `${OK_TF}# ${uniqueName('zip')}\n`;
      const zip = writeZip([{ name: 'main.tf', type: 'file', data: Buffer.from(content) }]);
      const first = await upload(t.api, zip, 'application/zip');
      expect(first.status).toBe(201);
      const again = await upload(t.api, zip, 'application/zip');
      expect([again.status, again.body]).toEqual([200, first.body]);
      const compressed = await upload(t.api, zip, 'application/x-zip-compressed');
      expect([compressed.status, compressed.body]).toEqual([200, first.body]);
      const stored = await t.api.get(`/files/${(first.body as { hash: string }).hash}`);
      expect(stored.headers.get('content-type')).toBe(TAR);
      const entries = await readTar(Buffer.from(await (await fetch(`${t.url}/api/v2/files/${(first.body as { hash: string }).hash}`, { headers: { 'Coder-Session-Token': t.token } })).arrayBuffer()));
      expect(entries.filter((e) => e.type === 'file').map((e) => [e.name, e.data.toString()])).toEqual([['main.tf', content]]);
    });

    it('400 for other content types and broken zips', async () => {
      const tar = await packTar({ 'main.tf': OK_TF });
      for (const type of ['text/plain', 'application/gzip']) {
        const res = await upload(t.api, tar, type);
        expect([res.status, res.body]).toEqual([400, { message: `Unsupported content type header "${type}".` }]);
      }
      const broken = await upload(t.api, Buffer.from('garbage'), 'application/zip');
      expect([broken.status, broken.body]).toEqual([400, { message: 'Incomplete .zip archive file.', detail: 'zip: not a valid zip file' }]);
      const err = await t.client.uploadFile(tar, 'text/plain').catch((e: unknown) => e);
      expect(err).toMatchObject({ statusCode: 400, coderMessage: 'Unsupported content type header "text/plain".' });
    });
  });
});

/**
 * The fake's enterprise mode (its default, which product tests use) cannot be compared with a
 * real Coder here (the enterprise binary cannot be built offline); it is checked against how an
 * unlicensed enterprise coderd v2.30.0 answers (every feature not_entitled, licenses JSON null).
 */
describe('fake Coder, enterprise edition without a license', () => {
  it('entitles nothing and lists licenses as JSON null', async () => {
    const fake = await startFakeCoder({ seed: freshSeed() });
    try {
      const api = new Api(fake);
      const ent = await api.get('/entitlements', { token: null });
      expect(ent.status).toBe(200);
      expect(keys(ent.body)).toEqual(['errors', 'features', 'has_license', 'refreshed_at', 'require_telemetry', 'trial', 'warnings']);
      const body = ent.body as { features: Record<string, { entitlement: string; enabled: boolean }>; has_license: boolean; trial: boolean };
      expect(body).toMatchObject({ has_license: false, trial: false, require_telemetry: false, errors: [], warnings: [] });
      expect(Object.keys(body.features).length).toBeGreaterThanOrEqual(26);
      for (const [feature, value] of Object.entries(body.features)) {
        expect([feature, value.entitlement, value.enabled]).toEqual([feature, 'not_entitled', false]);
      }
      const licenses = await api.get('/licenses');
      expect([licenses.status, licenses.text]).toEqual([200, 'null\n']);
    } finally {
      await fake.close();
    }
  });
});
