// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect polyfill.
import 'reflect-metadata';
import { webcrypto, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

const ALG: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;

export interface KeyPairPem {
  cert: string;
  key: string;
}

export interface CertificateAuthority extends KeyPairPem {
  readonly keys: CryptoKeyPair;
  readonly certificate: x509.X509Certificate;
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  // Back-date a little so clocks that lag slightly still accept a fresh certificate.
  return { notBefore: new Date(Date.now() - 5 * 60 * 1000), notAfter: new Date(Date.now() + days * DAY_MS) };
}

export async function createCertificateAuthority(commonName: string, days = 3650): Promise<CertificateAuthority> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    keys,
    signingAlgorithm: ALG,
    ...validity(days),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { keys, certificate, cert: certificate.toString('pem'), key: await keyPem(keys.privateKey) };
}

/** A CA from its PEM certificate and PKCS#8 key (as kept in a Secret), to issue more certificates. */
export async function loadCertificateAuthority(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const certificate = new x509.X509Certificate(certPem);
  const der: ArrayBuffer = x509.PemConverter.decode(keyPem)[0] ?? new ArrayBuffer(0);
  const privateKey: CryptoKey = await webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
  const publicKey = (await certificate.publicKey.export(ALG, ['verify'])) as unknown as CryptoKey;
  return { keys: { privateKey, publicKey }, certificate, cert: certPem, key: keyPem };
}

export interface IssueOptions {
  commonName: string;
  organizations?: string[];
  /** DNS names and IP addresses for serving certificates. */
  hosts?: string[];
  usages: ('server' | 'client')[];
  days?: number;
}

export async function issueCertificate(ca: CertificateAuthority, options: IssueOptions): Promise<KeyPairPem> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const escape = (v: string) => v.replace(/([,+"\\<>;=])/g, '\\$1');
  const subject = [`CN=${escape(options.commonName)}`, ...(options.organizations ?? []).map((o) => `O=${escape(o)}`)].join(', ');
  const usages = options.usages.map((u) => (u === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth));
  const hosts = options.hosts ?? [];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(usages, false),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  if (hosts.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(hosts.map((h) => (isIP(h) ? { type: 'ip', value: h } : { type: 'dns', value: h }))),
    );
  }
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.certificate.subject,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALG,
    ...validity(options.days ?? 365),
    extensions,
  });
  return { cert: certificate.toString('pem'), key: await keyPem(keys.privateKey) };
}

export interface ServingCertificate extends KeyPairPem {
  /** PEM of the CA that signed the serving certificate, for clients' trust (APIService caBundle). */
  caCert: string;
}

/** A throw-away CA and a serving certificate for the given hosts, like kube's self-signed certs. */
export async function selfSignedServing(hosts: string[], days = 365): Promise<ServingCertificate> {
  const ca = await createCertificateAuthority(`coder-k8s-ca@${Math.floor(Date.now() / 1000)}`, days);
  const leaf = await issueCertificate(ca, { commonName: hosts[0] ?? 'localhost', hosts, usages: ['server'], days });
  return { ...leaf, caCert: ca.cert };
}
