import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TEMPLATES, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const lastUser = () => h.authorizer.seen.at(-1)?.user;

describe('authentication', () => {
  it('rejects a request without a client certificate with a 401 Status', async () => {
    const res = await h.request('GET', TEMPLATES, {}, 'none');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
  });

  it('rejects a certificate from an unknown CA', async () => {
    expect((await h.request('GET', TEMPLATES, {}, 'untrusted')).status).toBe(401);
  });

  it('leaves health endpoints open', async () => {
    for (const path of ['/healthz', '/livez', '/readyz']) {
      const res = await h.request('GET', path, {}, 'none');
      expect(res.status).toBe(200);
      expect(res.text).toBe('ok');
    }
  });

  it('authenticates x509 users as CN with O groups', async () => {
    const res = await h.request('GET', TEMPLATES);
    expect(res.status).toBe(200);
    expect(lastUser()).toEqual({ name: 'it-admin', groups: ['system:masters', 'devs', 'system:authenticated'], extra: {} });
  });

  it('trusts front-proxy headers only from an allowed front-proxy certificate', async () => {
    const headers = { 'X-Remote-User': 'alice', 'X-Remote-Group': ['team-a', 'team-b'], 'X-Remote-Extra-Scopes': ['read', 'write'], 'X-Remote-Extra-Acme.com%2Fproject': 'p1' };
    const res = await h.request('GET', TEMPLATES, { headers }, 'proxy');
    expect(res.status).toBe(200);
    expect(lastUser()).toEqual({
      name: 'alice',
      groups: ['team-a', 'team-b', 'system:authenticated'],
      extra: { scopes: ['read', 'write'], 'acme.com/project': ['p1'] },
    });
  });

  it('rejects a front-proxy certificate whose CN is not allowed', async () => {
    const res = await h.request('GET', TEMPLATES, { headers: { 'X-Remote-User': 'mallory' } }, 'rogue-proxy');
    expect(res.status).toBe(401);
  });

  it('rejects a front-proxy request that names no user', async () => {
    expect((await h.request('GET', TEMPLATES, {}, 'proxy')).status).toBe(401);
  });

  it('ignores identity headers on a connection from a client-CA user', async () => {
    await h.request('GET', TEMPLATES, { headers: { 'X-Remote-User': 'mallory', 'X-Remote-Group': 'system:masters' } });
    expect(lastUser()?.name).toBe('it-admin');
  });

  it('answers 403 naming user, verb and resource when authorization denies', async () => {
    h.authorizer.deny = (_user, req) => req.verb === 'create';
    try {
      const res = await h.request('POST', TEMPLATES, { body: {} });
      expect(res.status).toBe(403);
      expect(res.body.message).toBe(
        'User "it-admin" cannot create resource "codertemplates" in API group "aggregation.coder.com" in the namespace "coder": denied by test',
      );
    } finally {
      h.authorizer.deny = undefined;
    }
  });

  it('counts authentications in metrics', async () => {
    const text = await h.metrics.registry.getSingleMetricAsString('coder_k8s_apiserver_authentications_total');
    expect(text).toMatch(/method="x509",result="success"} \d+/);
    expect(text).toMatch(/method="requestheader",result="failure"} \d+/);
  });
});
