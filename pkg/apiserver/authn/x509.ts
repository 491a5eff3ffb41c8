import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const MAX_DEPTH = 8;

/**
 * The client's certificate chain as the TLS layer saw it, leaf first. Empty when no
 * certificate was presented — including a resumed TLS session, which Node may still
 * report as `authorized` although no certificate came with it.
 */
export function peerChain(socket: TLSSocket): X509Certificate[] {
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

function issued(issuer: X509Certificate, cert: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

function validNow(cert: X509Certificate, now: number): boolean {
  return Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
}

export type ChainVerdict = { ok: true; leaf: X509Certificate } | { ok: false; reason: string };

/**
 * Verifies a presented chain against a CA pool the way Go's x509.Verify does for client
 * certificates: every link signed by the next, all currently valid, a root from the pool at
 * the top, and the leaf usable for client authentication.
 */
export function verifyClientChain(chain: X509Certificate[], roots: readonly X509Certificate[], now = Date.now()): ChainVerdict {
  const leaf = chain[0];
  if (!leaf) return { ok: false, reason: 'no client certificate' };
  if (roots.length === 0) return { ok: false, reason: 'no CA configured' };
  const usages = leaf.keyUsage;
  // No extended key usage extension means any usage, as in Go's x509.
  if ((usages as string[] | undefined)?.length && !usages.includes(CLIENT_AUTH)) {
    return { ok: false, reason: 'certificate is not valid for client authentication' };
  }
  let current = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (!validNow(current, now)) return { ok: false, reason: `certificate "${current.subject.replace(/\n/g, ',')}" is expired or not yet valid` };
    const root = roots.find((r) => issued(r, current));
    if (root) {
      return validNow(root, now) ? { ok: true, leaf } : { ok: false, reason: 'signing CA is expired or not yet valid' };
    }
    const intermediate = chain.slice(1).find((c) => c !== current && c.ca && issued(c, current));
    if (!intermediate) return { ok: false, reason: 'certificate signed by unknown authority' };
    current = intermediate;
  }
  return { ok: false, reason: 'certificate chain too long' };
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
