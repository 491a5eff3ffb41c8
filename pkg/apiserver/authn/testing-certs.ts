// Test helper: certificate chains with the properties chain verification must judge
// (intermediates, basicConstraints, path length, extended key usage, validity). Unlike
// pkg/certs, every property can be chosen, including wrong ones.
import 'reflect-metadata';
import { X509Certificate, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

const ALG: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;
const CA_USAGES: x509.KeyUsageFlags = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature;

export const SERVER_AUTH = x509.ExtendedKeyUsage.serverAuth;
export const CLIENT_AUTH = x509.ExtendedKeyUsage.clientAuth;
export const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

export interface TestCertificate {
  /** As the TLS layer hands it to authenticators. */
  cert: X509Certificate;
  pem: string;
  /** PKCS#8 PEM, for a TLS client presenting this certificate. */
  keyPem: string;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly subject: string;
}

interface TestCertificateOptions {
  /** Signer; self-signed when absent. */
  issuer?: Pick<TestCertificate, 'subject' | 'keys'>;
  /** The subject's key pair (a new one when absent). */
  keys?: webcrypto.CryptoKeyPair;
  /** basicConstraints cA (a CA by default when self-signed, else a leaf). */
  ca?: boolean;
  pathLength?: number;
  /** Extended key usages, or 'none' for no extension (the default for CAs; leaves default to clientAuth). */
  extendedKeyUsages?: string[] | 'none';
  notBefore?: Date;
  notAfter?: Date;
  /** An extension of this OID, marked critical, that no verifier knows. */
  criticalExtension?: string;
}

/** Issues one certificate; subject is a distinguished name such as `CN=alice, O=devs`. */
export async function testCertificate(subject: string, options: TestCertificateOptions = {}): Promise<TestCertificate> {
  const keys = options.keys ?? (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']));
  const ca = options.ca ?? !options.issuer;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(ca, options.pathLength, true),
    new x509.KeyUsagesExtension(ca ? CA_USAGES : x509.KeyUsageFlags.digitalSignature, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const usages = options.extendedKeyUsages ?? (ca ? 'none' : [CLIENT_AUTH]);
  if (usages !== 'none') extensions.push(new x509.ExtendedKeyUsageExtension(usages, false));
  // An ASN.1 NULL as the value.
  if (options.criticalExtension) extensions.push(new x509.Extension(options.criticalExtension, true, new Uint8Array([5, 0])));
  const issuer = options.issuer;
  if (issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex').replace(/^./, '1'),
    subject,
    issuer: issuer?.subject ?? subject,
    publicKey: keys.publicKey,
    signingKey: (issuer?.keys ?? keys).privateKey,
    signingAlgorithm: ALG,
    notBefore: options.notBefore ?? new Date(Date.now() - 60 * 60 * 1000),
    notAfter: options.notAfter ?? new Date(Date.now() + 30 * DAY_MS),
    extensions,
  });
  const pem = certificate.toString('pem');
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  return { cert: new X509Certificate(pem), pem, keyPem, keys, subject: certificate.subject };
}

/** A time relative to now, for expired or not yet valid certificates. */
export const daysFromNow = (days: number): Date => new Date(Date.now() + days * DAY_MS);
