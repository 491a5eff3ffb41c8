import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CoderResponse, User } from '../../../pkg/coder/types.ts';
import { emptySeed, startFakeCoder } from './index.ts';
import type { FakeCoder } from './index.ts';
import { Api } from './testutil.ts';

const SIGNED_OUT = 'You are signed out or your session has expired. Please sign in again to continue.';

describe('fake coderd: authentication and users', () => {
  let fake: FakeCoder;
  let api: Api;

  beforeAll(async () => {
    fake = await startFakeCoder();
    api = new Api(fake);
  });
  afterAll(async () => {
    await fake.close();
  });

  it('answers 401 with the signed-out envelope for missing, malformed and unknown tokens', async () => {
    for (const token of [null, 'garbage', 'abcdefghij-abcdefghijklmnopqrstuv']) {
      const res = await api.get('/users/me', { token });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect((res.body as CoderResponse).message).toBe(SIGNED_OUT);
    }
  });

  it('sends X-Coder-Build-Version on every response, errors included', async () => {
    for (const res of [await api.get('/buildinfo'), await api.get('/users/me', { token: null }), await api.get('/nope')]) {
      expect(res.headers.get('x-coder-build-version')).toMatch(/^v2\.30\./);
    }
  });

  it('accepts Authorization: Bearer as well as Coder-Session-Token', async () => {
    const res = await api.get('/users/me', { token: null, headers: { Authorization: `Bearer ${fake.adminToken}` } });
    expect(res.status).toBe(200);
    expect((res.body as User).username).toBe('admin');
  });

  it('serves the unauthenticated endpoints without a token', async () => {
    expect((await api.get('/buildinfo', { token: null })).status).toBe(200);
    expect((await api.get('/entitlements', { token: null })).status).toBe(200);
    expect((await api.get('/users/first', { token: null })).status).toBe(200);
  });

  it('answers unknown routes, bad UUIDs and bad JSON like coderd', async () => {
    const missing = await api.get('/definitely/not/here');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ message: 'Route not found.' });
    const badUUID = await api.get('/workspaces/not-a-uuid');
    expect(badUUID.status).toBe(400);
    expect((badUUID.body as CoderResponse).message).toBe('Invalid UUID "not-a-uuid".');
    const wrongMethod = await api.delete('/buildinfo');
    expect(wrongMethod.status).toBe(405);
    const badJSON = await api.call('POST', '/users', { raw: '{nope', headers: { 'Content-Type': 'application/json' } });
    expect(badJSON.status).toBe(400);
    expect((badJSON.body as CoderResponse).message).toBe('Request body must be valid JSON.');
  });

  it('resolves {user} as me, username or uuid and answers 400 for unknown users', async () => {
    const alice = (await api.get('/users/alice')).body as User;
    expect((await api.get(`/users/${alice.id}`)).status).toBe(200);
    const unknown = await api.get('/users/nobody');
    expect(unknown.status).toBe(400);
    expect((unknown.body as CoderResponse).message).toBe('"user" must be an existing uuid or username.');
  });

  it('logs in with a password and rejects wrong credentials', async () => {
    const ok = await api.post('/users/login', { email: 'alice@coder.com', password: 'AliceSecurePassword!' }, { token: null });
    expect(ok.status).toBe(201);
    const { session_token } = ok.body as { session_token: string };
    expect(session_token).toMatch(/^[a-zA-Z0-9]{10}-[a-zA-Z0-9]{22}$/);
    expect(((await api.as(session_token).get('/users/me')).body as User).username).toBe('alice');
    const wrong = await api.post('/users/login', { email: 'alice@coder.com', password: 'nope' }, { token: null });
    expect(wrong.status).toBe(401);
    expect((wrong.body as CoderResponse).message).toBe('Incorrect email or password.');
  });

  it('creates, lists and deletes API tokens', async () => {
    const created = await api.post('/users/me/keys/tokens', { token_name: 'ci', lifetime: 3600 * 1e9 });
    expect(created.status).toBe(201);
    const { key } = created.body as { key: string };
    const dup = await api.post('/users/me/keys/tokens', { token_name: 'ci' });
    expect(dup.status).toBe(409);
    const tooLong = await api.post('/users/me/keys/tokens', { token_name: 'long', lifetime: 30 * 24 * 3600 * 1e9 });
    expect(tooLong.status).toBe(400);
    expect((tooLong.body as CoderResponse).detail).toBe('lifetime must be less than 168h0m0s');

    const list = (await api.get('/users/me/keys/tokens')).body as { id: string; token_name: string; lifetime_seconds: number }[];
    const ci = list.find((k) => k.token_name === 'ci');
    expect(ci?.lifetime_seconds).toBe(3600);
    expect(key.startsWith(`${ci?.id ?? 'missing'}-`)).toBe(true);

    expect((await api.as(key).get('/users/me')).status).toBe(200);
    expect((await api.delete(`/users/me/keys/${ci?.id ?? 'missing'}`)).status).toBe(204);
    expect((await api.as(key).get('/users/me')).status).toBe(401);
    expect((await api.delete('/users/me/keys/0123456789')).status).toBe(404);
  });

  it('derives entitlements from uploaded license claims', async () => {
    const before = (await api.get('/entitlements', { token: null })).body as { has_license: boolean; features: Record<string, { entitlement: string }> };
    expect(before.has_license).toBe(false);
    expect(before.features.external_provisioner_daemons?.entitlement).toBe('not_entitled');
    expect((await api.get('/licenses')).text).toBe('null\n');

    const claims = { exp: Math.floor(Date.now() / 1000) + 3600, features: { external_provisioner_daemons: 1, user_limit: 100 } };
    const jwt = ['e30', Buffer.from(JSON.stringify(claims)).toString('base64url'), 'sig'].join('.');
    const uploaded = await api.post('/licenses', { license: jwt });
    expect(uploaded.status).toBe(201);
    expect((uploaded.body as { claims: unknown }).claims).toEqual(claims);
    expect((await api.post('/licenses', { license: 'not-a-jwt' })).status).toBe(400);

    const after = (await api.get('/entitlements')).body as { has_license: boolean; features: Record<string, { entitlement: string; enabled: boolean }> };
    expect(after.has_license).toBe(true);
    expect(after.features.external_provisioner_daemons).toMatchObject({ entitlement: 'entitled', enabled: true });
    expect(after.features.multiple_organizations?.entitlement).toBe('not_entitled');
    const id = (uploaded.body as { id: number }).id;
    expect((await api.delete(`/licenses/${id}`)).status).toBe(200);
    expect((await api.delete(`/licenses/${id}`)).status).toBe(404);
  });

  it('lets owners create users and assign roles, and forbids members', async () => {
    const created = await api.post('/users', { email: 'op@coder.com', username: 'coder-k8s-operator', login_type: 'none', user_status: 'active' });
    expect(created.status).toBe(201);
    const op = created.body as User;
    expect(op.login_type).toBe('none');
    expect((await api.post('/users', { email: 'op@coder.com', username: 'coder-k8s-operator', login_type: 'none' })).status).toBe(409);
    const roles = await api.put(`/users/${op.id}/roles`, { roles: ['owner'] });
    expect(roles.status).toBe(200);
    expect((roles.body as User).roles.map((r) => r.name)).toEqual(['owner']);
    expect((await api.put('/users/me/roles', { roles: [] })).status).toBe(400);
    // An admin may mint tokens for a login_type=none user.
    expect((await api.post(`/users/${op.id}/keys/tokens`, { token_name: 'operator' })).status).toBe(201);

    const login = await api.post('/users/login', { email: 'bob@coder.com', password: 'BobSecurePassword!' }, { token: null });
    const bob = api.as((login.body as { session_token: string }).session_token);
    expect((await bob.post('/users', { email: 'x@coder.com', username: 'x', password: 'SomeSecurePassword!' })).status).toBe(403);
  });
});

describe('fake coderd: first user on an empty deployment', () => {
  let fake: FakeCoder;
  let api: Api;

  beforeAll(async () => {
    fake = await startFakeCoder({ seed: emptySeed() });
    api = new Api(fake, null);
  });
  afterAll(async () => {
    await fake.close();
  });

  it('goes 404 → weak password 400 → 201 → 409', async () => {
    expect(fake.adminToken).toBe('');
    const none = await api.get('/users/first');
    expect(none.status).toBe(404);
    expect((none.body as CoderResponse).message).toBe('The initial user has not been created!');

    const weak = await api.post('/users/first', { email: 'a@b.c', username: 'admin', password: 'password' });
    expect(weak.status).toBe(400);
    expect((weak.body as CoderResponse).validations?.[0]?.field).toBe('password');

    const created = await api.post('/users/first', { email: 'a@b.c', username: 'admin', password: 'SomeSecurePassword!' });
    expect(created.status).toBe(201);
    const { user_id, organization_id } = created.body as { user_id: string; organization_id: string };
    expect(user_id).toMatch(/^[0-9a-f-]{36}$/);

    const again = await api.post('/users/first', { email: 'a@b.c', username: 'admin', password: 'SomeSecurePassword!' });
    expect(again.status).toBe(409);

    const login = await api.post('/users/login', { email: 'a@b.c', password: 'SomeSecurePassword!' });
    const admin = api.as((login.body as { session_token: string }).session_token);
    const me = (await admin.get('/users/me')).body as User;
    expect(me.roles.map((r) => r.name)).toContain('owner');
    expect(me.organization_ids).toEqual([organization_id]);
    expect(((await admin.get('/organizations/default')).body as { id: string }).id).toBe(organization_id);
  });
});
