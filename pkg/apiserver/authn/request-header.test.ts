import { beforeAll, describe, expect, it } from '@jest/globals';
import { ClientCertAuthenticator } from './client-cert.ts';
import { RequestHeaderAuthenticator, type RequestHeaderConfig } from './request-header.ts';
import { SERVER_AUTH, testCertificate, type TestCertificate } from './testing-certs.ts';
import { UnionAuthenticator } from './union.ts';

let frontProxyCA: TestCertificate;
let intermediate: TestCertificate;
let proxy: TestCertificate;
let config: RequestHeaderConfig;

beforeAll(async () => {
  frontProxyCA = await testCertificate('CN=front-proxy-ca');
  intermediate = await testCertificate('CN=front-proxy-intermediate', { issuer: frontProxyCA, ca: true });
  proxy = await testCertificate('CN=front-proxy-client', { issuer: intermediate });
  config = {
    roots: [frontProxyCA.cert],
    allowedNames: ['front-proxy-client'],
    usernameHeaders: ['X-Remote-User'],
    groupHeaders: ['X-Remote-Group'],
    extraHeaderPrefixes: ['X-Remote-Extra-'],
  };
});

const headers = { 'x-remote-user': ['alice'], 'x-remote-group': ['team-a'], 'x-remote-extra-scopes': ['read'] };

function authenticate(chain: TestCertificate[]) {
  const authenticator = new RequestHeaderAuthenticator(() => config);
  return authenticator.authenticate({ chain: chain.map((c) => c.cert), connection: {}, headers });
}

describe('front-proxy (request-header) authentication', () => {
  it('trusts the headers from a proxy certificate issued by an intermediate of the requestheader CA', async () => {
    expect(await authenticate([proxy, intermediate])).toEqual({
      kind: 'user',
      method: 'requestheader',
      user: { name: 'alice', groups: ['team-a', 'system:authenticated'], extra: { scopes: ['read'] } },
    });
  });

  it('ignores the headers when the proxy leaves the intermediate out', async () => {
    expect((await authenticate([proxy])).kind).toBe('none');
  });

  it('ignores the headers when a CA on the chain does not allow client authentication', async () => {
    const serverOnly = await testCertificate('CN=front-proxy-intermediate', { issuer: frontProxyCA, ca: true, extendedKeyUsages: [SERVER_AUTH] });
    const below = await testCertificate('CN=front-proxy-client', { issuer: serverOnly });
    expect((await authenticate([below, serverOnly])).kind).toBe('none');
  });

  it('ignores the headers from a certificate of the chain whose name is not allowed, and says so', async () => {
    const rogue = await testCertificate('CN=not-the-proxy', { issuer: intermediate });
    expect(await authenticate([rogue, intermediate])).toEqual({
      kind: 'none',
      reason: 'requestheader: client certificate common name "not-the-proxy" is not allowed',
    });
  });

  it('leaves a certificate of another CA to the x509 authenticator, whose reason is kept when it fails too', async () => {
    const clientCA = await testCertificate('CN=client-ca');
    const clientIntermediate = await testCertificate('CN=client-intermediate', { issuer: clientCA, ca: true });
    const user = await testCertificate('CN=bob', { issuer: clientIntermediate });
    const union = new UnionAuthenticator([new RequestHeaderAuthenticator(() => config), new ClientCertAuthenticator(() => [clientCA.cert])]);
    const request = (chain: TestCertificate[]) => union.authenticate({ chain: chain.map((c) => c.cert), connection: {}, headers });
    expect(await request([user, clientIntermediate])).toMatchObject({ kind: 'user', method: 'x509', user: { name: 'bob' } });
    expect(await request([user])).toEqual({ kind: 'none', reason: 'x509: certificate signed by unknown authority' });
  });
});
