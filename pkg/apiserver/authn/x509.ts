import { X509Certificate, webcrypto } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import * as pkijs from 'pkijs';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
const EXTENDED_KEY_USAGE = '2.5.29.37';
const BASIC_CONSTRAINTS = '2.5.29.19';
/** Extensions path validation processes (pkijs or the checks below); any other critical one fails, as in Go. */
const UNDERSTOOD_EXTENSIONS = new Set([
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.15', // keyUsage
  '2.5.29.17', // subjectAltName
  BASIC_CONSTRAINTS,
  '2.5.29.30', // nameConstraints
  '2.5.29.32', // certificatePolicies
  '2.5.29.33', // policyMappings
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.36', // policyConstraints
  EXTENDED_KEY_USAGE,
  '2.5.29.54', // inhibitAnyPolicy
]);
const MAX_DEPTH = 8;
/**
 * Issuer look-ups one verification may make: ample for MAX_DEPTH certificates, and a bound
 * where pkijs's path building would otherwise never end (intermediates that issue each other).
 */
const MAX_ISSUER_LOOKUPS = 4 * MAX_DEPTH;

// Node's WebCrypto, explicitly: pkijs's default engine depends on the globals it finds.
const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as never });

/**
 * The client's certificate chain as the TLS layer saw it, leaf first. Empty when no
 * certificate was presented — including a resumed TLS session, which Node may still
 * report as `authorized` although no certificate came with it.
 */
export function peerChain(socket: TLSSocket): readonly X509Certificate[] {
  // The server refuses renegotiation, so a connection's chain never changes: read it once.
  const known = peerChains.get(socket);
  if (known) return known;
  const chain = readPeerChain(socket);
  peerChains.set(socket, chain);
  return chain;
}

const peerChains = new WeakMap<TLSSocket, readonly X509Certificate[]>();

function readPeerChain(socket: TLSSocket): X509Certificate[] {
  // An empty object when no certificate was presented; typed as always present.
  const leaf = socket.getPeerCertificate(true) as Partial<DetailedPeerCertificate>;
  const chain: X509Certificate[] = [];
  let current: DetailedPeerCertificate | undefined = leaf.raw ? (leaf as DetailedPeerCertificate) : undefined;
  const seen = new Set<string>();
  while (current?.raw && chain.length < MAX_DEPTH) {
    if (seen.has(current.fingerprint256)) break;
    seen.add(current.fingerprint256);
    chain.push(new X509Certificate(current.raw));
    // Absent past a partial chain, although the type says otherwise.
    const next: DetailedPeerCertificate | undefined = current.issuerCertificate;
    current = next;
  }
  return chain;
}

export type ChainVerdict = { ok: true; leaf: X509Certificate } | { ok: false; reason: string };

interface Verified {
  roots: readonly X509Certificate[];
  /** The chain the verdict is about (a caller may present another for the same connection object). */
  chain: readonly X509Certificate[];
  fingerprints: string;
  checkedAt: number;
  /** When a certificate involved becomes valid or expires, and the verdict may change. */
  until: number;
  verdict: Promise<ChainVerdict>;
}

/**
 * Verifies client certificate chains against a CA pool as Go's x509.Verify does for
 * kube-apiserver's client certificates and front proxy (KeyUsages: [ClientAuth]):
 *
 * - the path is built from the leaf through the intermediates the client presented to a
 *   root of the pool (never to a presented certificate that is not in the pool);
 * - every signature verifies and every certificate on the path is valid now;
 * - every issuer is a CA (basicConstraints cA, keyCertSign when it has a key usage) and
 *   its pathLenConstraint holds;
 * - extended key usage is checked along the whole path: a certificate with the extension
 *   must allow clientAuth (or any usage); one without it allows any;
 * - no certificate carries a critical extension that is not understood.
 *
 * pkijs's CertificateChainValidationEngine builds the path and checks signatures, validity,
 * CA flags, key usage, name constraints and policies; path length and extended key usage,
 * which it leaves out, are checked here on the path it returns.
 *
 * A connection presents the same chain for every request, so the verdict is kept per
 * connection until the pool changes (another array), a different chain is presented for it
 * (the server refuses renegotiation, so over TLS it never is), or a certificate
 * involved reaches the end (or the start) of its validity.
 */
export class ChainVerifier {
  readonly #verified = new WeakMap<object, Verified>();

  verify(connection: object, chain: readonly X509Certificate[], roots: readonly X509Certificate[]): Promise<ChainVerdict> {
    const now = Date.now();
    const known = this.#verified.get(connection);
    const fresh = known !== undefined && known.roots === roots && known.checkedAt <= now && now < known.until;
    // The same chain object (peerChain's per-connection read) needs no fingerprints compared.
    if (fresh && known.chain === chain) return known.verdict;
    const fingerprints = chain.map((c) => c.fingerprint256).join();
    if (fresh && known.fingerprints === fingerprints) return known.verdict;
    const verdict = verifyClientChain(chain, roots, now).catch((err: unknown) =>
      fail(`certificate chain could not be verified: ${err instanceof Error ? err.message : String(err)}`),
    );
    this.#verified.set(connection, { roots, chain, fingerprints, checkedAt: now, until: nextValidityChange([...chain, ...roots], now), verdict });
    return verdict;
  }
}

function nextValidityChange(certs: readonly X509Certificate[], now: number): number {
  let next = Infinity;
  for (const cert of certs) {
    // Valid from notBefore through notAfter inclusive, as pkijs checks.
    for (const boundary of [cert.validFromDate.getTime(), cert.validToDate.getTime() + 1]) {
      if (boundary > now && boundary < next) next = boundary;
    }
  }
  return next;
}

interface Parsed {
  cert: X509Certificate;
  pki: pkijs.Certificate;
}

function parse(cert: X509Certificate): Parsed | undefined {
  try {
    return { cert, pki: pkijs.Certificate.fromBER(cert.raw) };
  } catch {
    return undefined;
  }
}

/** Pools parsed for pkijs, by pool (a CA change brings a new array). */
const parsedPools = new WeakMap<readonly X509Certificate[], Parsed[]>();

function parsedPool(roots: readonly X509Certificate[]): Parsed[] {
  let parsed = parsedPools.get(roots);
  if (!parsed) {
    parsed = roots.map(parse).filter((p) => p !== undefined);
    parsedPools.set(roots, parsed);
  }
  return parsed;
}

const fail = (reason: string): ChainVerdict => ({ ok: false, reason });
const subjectOf = (cert: X509Certificate): string => cert.subject.replace(/\n/g, ', ');

async function verifyClientChain(chain: readonly X509Certificate[], roots: readonly X509Certificate[], now: number): Promise<ChainVerdict> {
  if (chain.length === 0) return fail('no client certificate');
  if (roots.length === 0) return fail('no CA configured');
  if (chain.length > MAX_DEPTH) return fail('certificate chain too long');
  const presented = chain.map(parse).filter((p) => p !== undefined);
  const [leaf, ...intermediates] = presented;
  if (!leaf || presented.length < chain.length) return fail('client certificate chain could not be parsed');
  const pool = parsedPool(roots);
  const byPki = new Map<pkijs.Certificate, X509Certificate>([...pool, ...presented].map((p) => [p.pki, p.cert]));
  let lookups = 0;
  const validation = new pkijs.CertificateChainValidationEngine({
    trustedCerts: pool.map((p) => p.pki),
    // pkijs takes the last certificate as the one to verify.
    certs: [...intermediates.map((p) => p.pki).reverse(), leaf.pki],
    checkDate: new Date(now),
    findIssuer: async (cert, self, crypto) => {
      if (++lookups > MAX_ISSUER_LOOKUPS) throw new Error('too many candidate certificate paths');
      return self.defaultFindIssuer(cert, self, crypto);
    },
  });
  const result = await validation.verify({}, engine);
  const path = result.certificatePath;
  if (!result.result || !path) return fail(chainFailure(result, [...chain, ...roots], now));
  // pkijs verified its own choice of leaf when the leaf is also in the pool.
  if (path[0] !== leaf.pki) return fail('client certificate is a CA certificate of the pool');
  for (const [depth, cert] of path.entries()) {
    const name = `certificate "${subjectOf(byPki.get(cert) ?? leaf.cert)}"`;
    const critical = cert.extensions?.find((e) => e.critical && !UNDERSTOOD_EXTENSIONS.has(e.extnID));
    if (critical) return fail(`${name} has an unsupported critical extension ${critical.extnID}`);
    const usage = cert.extensions?.find((e) => e.extnID === EXTENDED_KEY_USAGE);
    if (usage) {
      if (!(usage.parsedValue instanceof pkijs.ExtKeyUsage)) return fail(`${name} has an unreadable extended key usage`);
      const purposes = usage.parsedValue.keyPurposes;
      // An empty list allows any usage, as in Go.
      if (purposes.length > 0 && !purposes.includes(CLIENT_AUTH) && !purposes.includes(ANY_EXTENDED_KEY_USAGE)) {
        return fail(depth === 0 ? `${name} is not valid for client authentication` : `CA ${name} does not allow client authentication`);
      }
    }
    const constraints: unknown = cert.extensions?.find((e) => e.extnID === BASIC_CONSTRAINTS)?.parsedValue;
    // Intermediates below this CA: those between it and the leaf.
    if (depth > 0 && constraints instanceof pkijs.BasicConstraints && typeof constraints.pathLenConstraint === 'number' && depth - 1 > constraints.pathLenConstraint) {
      return fail(`CA ${name} allows ${constraints.pathLenConstraint} intermediate certificates below it, the chain has ${depth - 1}`);
    }
  }
  return { ok: true, leaf: leaf.cert };
}

/** A readable reason for pkijs's verdict (its messages name no certificate). */
function chainFailure(result: pkijs.CertificateChainValidationEngineVerifyResult, certs: readonly X509Certificate[], now: number): string {
  switch (result.resultCode) {
    case 8: {
      const invalid = certs.find((c) => now < c.validFromDate.getTime() || now > c.validToDate.getTime());
      return invalid ? `certificate "${subjectOf(invalid)}" has expired or is not yet valid` : 'a certificate has expired or is not yet valid';
    }
    case 14:
      return 'an issuing certificate is not a CA certificate (basicConstraints cA, keyCertSign)';
    case 60:
    case 97:
      return 'certificate signed by unknown authority';
    default:
      return result.resultMessage === 'No valid certificate paths found' ? 'certificate signed by unknown authority' : `certificate chain is not valid: ${result.resultMessage}`;
  }
}

/** Subject attribute values, e.g. all O= entries. */
export function subjectValues(cert: X509Certificate, attribute: string): string[] {
  return cert.subject
    .split('\n')
    .map((line) => line.split(/=(.*)/s))
    .filter(([key]) => key === attribute)
    .map(([, value]) => value ?? '');
}

/** Parses a PEM bundle into certificates (a CA file may hold several). */
export function parseCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}
