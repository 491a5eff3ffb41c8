import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, request } from 'undici';
import { SERVER_AUTH, testCertificate, type TestCertificate } from '../../pkg/apiserver/authn/testing-certs.ts';
import { TEMPLATES, capturedLogger, startHarness, type Harness } from './harness.ts';

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

  const proxied = { 'X-Remote-User': 'alice', 'X-Remote-Group': ['team-a', 'team-b'], 'X-Remote-Extra-Scopes': ['read', 'write'], 'X-Remote-Extra-Acme.com%2Fproject': 'p1' };
  const alice = { name: 'alice', groups: ['team-a', 'team-b', 'system:authenticated'], extra: { scopes: ['read', 'write'], 'acme.com/project': ['p1'] } };

  it('trusts front-proxy headers only from an allowed front-proxy certificate (HTTP/1.1)', async () => {
    const res = await h.request('GET', TEMPLATES, { headers: proxied, http1: true }, 'proxy');
    expect(res.status).toBe(200);
    expect(lastUser()).toEqual(alice);
  });

  it('reads repeated front-proxy header fields one by one over HTTP/2, as kube-apiserver sends them', async () => {
    const lower = Object.fromEntries(Object.entries(proxied).map(([k, v]) => [k.toLowerCase(), v]));
    const res = await h.http2(TEMPLATES, lower, 'proxy');
    expect(res.status).toBe(200);
    expect(lastUser()).toEqual(alice);
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

describe('client certificate chains over TLS', () => {
  let chained: Harness;
  let dir: string;
  let root: TestCertificate;
  let intermediate: TestCertificate;
  const { logger, lines } = capturedLogger();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coder-k8s-it-chain-'));
    root = await testCertificate('CN=it-chain-root');
    intermediate = await testCertificate('CN=it-chain-intermediate', { issuer: root, ca: true });
    // Only the root is trusted: the intermediate must come from the client.
    await writeFile(join(dir, 'client-ca.crt'), root.pem);
    chained = await startHarness({ logger, flags: [`--client-ca-file=${join(dir, 'client-ca.crt')}`] });
  });
  afterAll(async () => {
    await chained.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** GET as a client presenting leaf and intermediates, on its own connection. */
  async function getAs(leaf: TestCertificate, ...intermediates: TestCertificate[]): Promise<number> {
    const agent = new Agent({ connect: { ca: chained.api.caCert, cert: [leaf, ...intermediates].map((c) => c.pem).join('\n'), key: leaf.keyPem, servername: 'localhost' } });
    try {
      const res = await request(chained.baseUrl + TEMPLATES, { dispatcher: agent, headers: { accept: 'application/json' } });
      await res.body.dump();
      return res.statusCode;
    } finally {
      await agent.close();
    }
  }

  it('authenticates a leaf whose intermediate the client presents', async () => {
    const leaf = await testCertificate('CN=it-chained, O=chain-devs', { issuer: intermediate });
    expect(await getAs(leaf, intermediate)).toBe(200);
    expect(chained.authorizer.seen.at(-1)?.user).toEqual({ name: 'it-chained', groups: ['chain-devs', 'system:authenticated'], extra: {} });
    // Without its intermediate the leaf chains to nothing trusted.
    expect(await getAs(leaf)).toBe(401);
  });

  it('rejects a chain through a CA that does not allow client authentication (401), and logs why', async () => {
    const serverOnly = await testCertificate('CN=it-server-only-intermediate', { issuer: root, ca: true, extendedKeyUsages: [SERVER_AUTH] });
    const leaf = await testCertificate('CN=it-chained', { issuer: serverOnly });
    expect(await getAs(leaf, serverOnly)).toBe(401);
    const logged = lines
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { message?: string; reason?: string });
    expect(logged.filter((e) => e.message === 'authentication rejected').map((e) => e.reason)).toContain(
      'x509: CA certificate "CN=it-server-only-intermediate" does not allow client authentication',
    );
  });
});
