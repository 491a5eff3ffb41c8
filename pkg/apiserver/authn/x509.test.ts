import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import { webcrypto } from 'node:crypto';
import { ClientCertAuthenticator } from './client-cert.ts';
import { ANY_EXTENDED_KEY_USAGE, CLIENT_AUTH, SERVER_AUTH, daysFromNow, testCertificate, type TestCertificate } from './testing-certs.ts';
import { ChainVerifier, type ChainVerdict } from './x509.ts';

const chainOf = (...certs: TestCertificate[]) => certs.map((c) => c.cert);

/** What the x509 authenticator makes of a chain presented on a fresh connection. */
async function authenticate(chain: TestCertificate[], roots: TestCertificate[]) {
  const authenticator = new ClientCertAuthenticator(() => chainOf(...roots));
  return authenticator.authenticate({ chain: chainOf(...chain), connection: {}, headers: {} });
}

const verify = (chain: TestCertificate[], roots: TestCertificate[]): Promise<ChainVerdict> =>
  new ChainVerifier().verify({}, chainOf(...chain), chainOf(...roots));

let root: TestCertificate;
let intermediate: TestCertificate;
let leaf: TestCertificate;

beforeAll(async () => {
  root = await testCertificate('CN=client-ca');
  intermediate = await testCertificate('CN=client-intermediate', { issuer: root, ca: true });
  leaf = await testCertificate('CN=alice, O=devs, O=ops', { issuer: intermediate });
});

describe('client certificate chains (as Go x509.Verify with KeyUsages [ClientAuth])', () => {
  it('accepts a leaf signed by an intermediate the client presents', async () => {
    expect(await authenticate([leaf, intermediate], [root])).toEqual({
      kind: 'user',
      method: 'x509',
      user: { name: 'alice', groups: ['devs', 'ops', 'system:authenticated'], extra: {} },
    });
  });

  it('rejects the leaf when the client leaves the intermediate out', async () => {
    expect((await authenticate([leaf], [root])).kind).toBe('none');
  });

  it('accepts a leaf whose issuing intermediate is itself in the pool', async () => {
    expect((await authenticate([leaf], [intermediate])).kind).toBe('user');
  });

  it('rejects an intermediate that is not a CA (basicConstraints cA=false)', async () => {
    const notCA = await testCertificate('CN=not-a-ca', { issuer: root, ca: false, extendedKeyUsages: 'none' });
    const below = await testCertificate('CN=alice', { issuer: notCA });
    expect((await authenticate([below, notCA], [root])).kind).toBe('none');
  });

  it('enforces pathLenConstraint: 0 on the root forbids an intermediate below it', async () => {
    const strictRoot = await testCertificate('CN=strict-ca', { pathLength: 0 });
    const below = await testCertificate('CN=strict-intermediate', { issuer: strictRoot, ca: true });
    const user = await testCertificate('CN=alice', { issuer: below });
    expect((await authenticate([user, below], [strictRoot])).kind).toBe('none');
    // The same constraint allows a leaf directly below, and 1 allows one intermediate.
    expect((await authenticate([await testCertificate('CN=alice', { issuer: strictRoot })], [strictRoot])).kind).toBe('user');
    const laxRoot = await testCertificate('CN=lax-ca', { pathLength: 1 });
    const laxBelow = await testCertificate('CN=lax-intermediate', { issuer: laxRoot, ca: true, pathLength: 0 });
    expect((await authenticate([await testCertificate('CN=alice', { issuer: laxBelow }), laxBelow], [laxRoot])).kind).toBe('user');
  });

  it('enforces pathLenConstraint on an intermediate too', async () => {
    const first = await testCertificate('CN=first', { issuer: root, ca: true, pathLength: 0 });
    const second = await testCertificate('CN=second', { issuer: first, ca: true });
    const user = await testCertificate('CN=alice', { issuer: second });
    expect((await authenticate([user, second, first], [root])).kind).toBe('none');
  });

  it('checks extended key usage along the whole chain', async () => {
    // A root restricted to serverAuth cannot vouch for client certificates.
    const serverRoot = await testCertificate('CN=server-only-ca', { extendedKeyUsages: [SERVER_AUTH] });
    expect((await authenticate([await testCertificate('CN=alice', { issuer: serverRoot })], [serverRoot])).kind).toBe('none');
    // Nor can an intermediate.
    const serverIntermediate = await testCertificate('CN=server-only-intermediate', { issuer: root, ca: true, extendedKeyUsages: [SERVER_AUTH] });
    const below = await testCertificate('CN=alice', { issuer: serverIntermediate });
    expect((await authenticate([below, serverIntermediate], [root])).kind).toBe('none');
    // A CA allowing clientAuth among others, or any usage, is fine.
    for (const usages of [[SERVER_AUTH, CLIENT_AUTH], [ANY_EXTENDED_KEY_USAGE]]) {
      const ca = await testCertificate('CN=intermediate', { issuer: root, ca: true, extendedKeyUsages: usages });
      expect((await authenticate([await testCertificate('CN=alice', { issuer: ca }), ca], [root])).kind).toBe('user');
    }
  });

  it('requires the leaf to allow client authentication when it has an extended key usage', async () => {
    const serverLeaf = await testCertificate('CN=alice', { issuer: intermediate, extendedKeyUsages: [SERVER_AUTH] });
    expect((await authenticate([serverLeaf, intermediate], [root])).kind).toBe('none');
    const noUsage = await testCertificate('CN=alice', { issuer: intermediate, extendedKeyUsages: 'none' });
    expect((await authenticate([noUsage, intermediate], [root])).kind).toBe('user');
  });

  it('rejects an expired or not yet valid leaf or intermediate', async () => {
    const expiredLeaf = await testCertificate('CN=alice', { issuer: intermediate, notBefore: daysFromNow(-10), notAfter: daysFromNow(-1) });
    expect((await authenticate([expiredLeaf, intermediate], [root])).kind).toBe('none');
    const futureLeaf = await testCertificate('CN=alice', { issuer: intermediate, notBefore: daysFromNow(1) });
    expect((await authenticate([futureLeaf, intermediate], [root])).kind).toBe('none');
    const expiredIntermediate = await testCertificate('CN=old-intermediate', { issuer: root, ca: true, notBefore: daysFromNow(-10), notAfter: daysFromNow(-1) });
    const below = await testCertificate('CN=alice', { issuer: expiredIntermediate });
    expect((await authenticate([below, expiredIntermediate], [root])).kind).toBe('none');
  });

  it('rejects a chain to a root of another pool, even when the client presents that root', async () => {
    const otherRoot = await testCertificate('CN=client-ca');
    const otherIntermediate = await testCertificate('CN=client-intermediate', { issuer: otherRoot, ca: true });
    const mallory = await testCertificate('CN=alice', { issuer: otherIntermediate });
    expect((await authenticate([mallory, otherIntermediate], [root])).kind).toBe('none');
    expect((await authenticate([mallory, otherIntermediate, otherRoot], [root])).kind).toBe('none');
  });

  it('rejects a certificate with a critical extension it does not understand', async () => {
    const odd = await testCertificate('CN=alice', { issuer: intermediate, criticalExtension: '1.3.6.1.4.1.55555.1' });
    expect((await authenticate([odd, intermediate], [root])).kind).toBe('none');
  });

  it('rejects a CA certificate of the pool presented as the client certificate', async () => {
    expect((await verify([root], [root])).ok).toBe(false);
  });
});

describe('verdicts', () => {
  it('give readable reasons', async () => {
    const other = await testCertificate('CN=other-ca');
    const reason = async (chain: TestCertificate[], roots: TestCertificate[]) => {
      const verdict = await verify(chain, roots);
      return verdict.ok ? 'ok' : verdict.reason;
    };
    expect(await reason([leaf, intermediate], [other])).toBe('certificate signed by unknown authority');
    const strictRoot = await testCertificate('CN=strict-ca', { pathLength: 0 });
    const below = await testCertificate('CN=strict-intermediate', { issuer: strictRoot, ca: true });
    expect(await reason([await testCertificate('CN=alice', { issuer: below }), below], [strictRoot])).toBe(
      'CA certificate "CN=strict-ca" allows 0 intermediate certificates below it, the chain has 1',
    );
    const serverIntermediate = await testCertificate('CN=server-only', { issuer: root, ca: true, extendedKeyUsages: [SERVER_AUTH] });
    expect(await reason([await testCertificate('CN=alice', { issuer: serverIntermediate }), serverIntermediate], [root])).toBe(
      'CA certificate "CN=server-only" does not allow client authentication',
    );
    const serverLeaf = await testCertificate('CN=bob', { issuer: intermediate, extendedKeyUsages: [SERVER_AUTH] });
    expect(await reason([serverLeaf, intermediate], [root])).toBe('certificate "CN=bob" is not valid for client authentication');
    const expired = await testCertificate('CN=carol', { issuer: intermediate, notBefore: daysFromNow(-10), notAfter: daysFromNow(-1) });
    expect(await reason([expired, intermediate], [root])).toBe('certificate "CN=carol" has expired or is not yet valid');
    const notCA = await testCertificate('CN=not-a-ca', { issuer: root, ca: false, extendedKeyUsages: 'none' });
    expect(await reason([await testCertificate('CN=dave', { issuer: notCA }), notCA], [root])).toBe(
      'an issuing certificate is not a CA certificate (basicConstraints cA, keyCertSign)',
    );
    const odd = await testCertificate('CN=erin', { issuer: intermediate, criticalExtension: '1.3.6.1.4.1.55555.1' });
    expect(await reason([odd, intermediate], [root])).toBe('certificate "CN=erin" has an unsupported critical extension 1.3.6.1.4.1.55555.1');
    expect(await reason([root], [root])).toBe('client certificate is a CA certificate of the pool');
  });

  it('end at intermediates that issue each other instead of searching forever', async () => {
    const keysA = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const keysB = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const a = await testCertificate('CN=A', { keys: keysA, issuer: { subject: 'CN=B', keys: keysB }, ca: true });
    const b = await testCertificate('CN=B', { keys: keysB, issuer: { subject: 'CN=A', keys: keysA }, ca: true });
    const user = await testCertificate('CN=alice', { issuer: a });
    const verdict = await verify([user, a, b], [root]);
    expect(verdict).toEqual({ ok: false, reason: 'certificate chain is not valid: too many candidate certificate paths' });
  });

  it('are kept per connection until the pool or the chain changes', async () => {
    const verifier = new ChainVerifier();
    const connection = {};
    const pool = chainOf(root);
    const first = verifier.verify(connection, chainOf(leaf, intermediate), pool);
    expect(verifier.verify(connection, chainOf(leaf, intermediate), pool)).toBe(first);
    expect((await first).ok).toBe(true);
    // Another connection with the same chain is verified on its own.
    expect(verifier.verify({}, chainOf(leaf, intermediate), pool)).not.toBe(first);
    // A CA change (a new pool array, e.g. from the ConfigMap) verifies again.
    const rotated = verifier.verify(connection, chainOf(leaf, intermediate), chainOf(await testCertificate('CN=new-ca')));
    expect(rotated).not.toBe(first);
    expect((await rotated).ok).toBe(false);
    // Another chain on the connection (renegotiation) verifies again.
    const other = verifier.verify(connection, chainOf(leaf), pool);
    expect((await other).ok).toBe(false);
  });

  it('are not kept past a certificate expiring', async () => {
    const verifier = new ChainVerifier();
    const connection = {};
    const shortLived = await testCertificate('CN=alice', { issuer: intermediate, notAfter: new Date(Date.now() + 1500) });
    const pool = chainOf(root);
    expect((await verifier.verify(connection, chainOf(shortLived, intermediate), pool)).ok).toBe(true);
    // Only the clock moves on: 2.1 s later the certificate has expired.
    jest.useFakeTimers({ doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    try {
      jest.setSystemTime(Date.now() + 2100);
      expect((await verifier.verify(connection, chainOf(shortLived, intermediate), pool)).ok).toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });
});
