import type { X509Certificate } from 'node:crypto';
import { ChainVerifier, subjectValues } from './x509.ts';
import { ALL_AUTHENTICATED, type AuthenticationRequest, type AuthenticationResult, type Authenticator } from './types.ts';

export interface RequestHeaderConfig {
  roots: readonly X509Certificate[];
  /** Common names allowed to assert identities; empty allows any CN signed by the CA. */
  allowedNames: readonly string[];
  usernameHeaders: readonly string[];
  groupHeaders: readonly string[];
  extraHeaderPrefixes: readonly string[];
}

/**
 * Front-proxy authentication: kube-apiserver proxies the request with its proxy client
 * certificate and the user in headers. Headers are trusted only on a connection whose
 * certificate chains to the requestheader CA and carries an allowed CN.
 */
export class RequestHeaderAuthenticator implements Authenticator {
  readonly #config: () => RequestHeaderConfig | undefined;
  readonly #verifier = new ChainVerifier();

  constructor(config: () => RequestHeaderConfig | undefined) {
    this.#config = config;
  }

  async authenticate(request: AuthenticationRequest): Promise<AuthenticationResult> {
    const config = this.#config();
    if (!config || config.roots.length === 0 || request.chain.length === 0) return { kind: 'none' };
    // A certificate from another CA is the usual case (x509 users): no reason to log.
    const verdict = await this.#verifier.verify(request.connection, request.chain, config.roots);
    if (!verdict.ok) return { kind: 'none' };
    const cn = subjectValues(verdict.leaf, 'CN')[0] ?? '';
    // Not a front proxy: as in kube, other authenticators may still accept the certificate
    // (when the requestheader and client CAs are the same); its headers are never trusted.
    if (config.allowedNames.length > 0 && !config.allowedNames.includes(cn)) {
      return { kind: 'none', reason: `requestheader: client certificate common name "${cn}" is not allowed` };
    }
    const headers = request.headers;
    const values = (name: string): string[] => (headers[name.toLowerCase()] ?? []).filter((v) => v !== '');
    const name = config.usernameHeaders.map((h) => values(h)[0]).find((v) => v !== undefined);
    if (!name) return { kind: 'rejected', method: 'requestheader', reason: 'front-proxy request carries no user header' };
    const groups = config.groupHeaders.flatMap(values);
    const extra: Record<string, string[]> = {};
    for (const prefix of config.extraHeaderPrefixes) {
      const lower = prefix.toLowerCase();
      for (const [header, vals] of Object.entries(headers)) {
        if (!header.startsWith(lower) || header.length === lower.length || !vals) continue;
        const key = decodeExtraKey(header.slice(lower.length));
        (extra[key] ??= []).push(...vals);
      }
    }
    if (!groups.includes(ALL_AUTHENTICATED)) groups.push(ALL_AUTHENTICATED);
    return { kind: 'user', method: 'requestheader', user: { name, groups, extra } };
  }
}

/** Extra keys are lower-cased and percent-decoded (kube-apiserver's unescapeExtraKey). */
function decodeExtraKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded).toLowerCase();
  } catch {
    return encoded.toLowerCase();
  }
}
