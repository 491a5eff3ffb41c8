import type { X509Certificate } from 'node:crypto';
import { ChainVerifier, subjectValues } from './x509.ts';
import { ALL_AUTHENTICATED, type AuthenticationRequest, type AuthenticationResult, type Authenticator } from './types.ts';

/** x509 client certificates signed by the client CA: user = CN, groups = O (as kube-apiserver). */
export class ClientCertAuthenticator implements Authenticator {
  readonly #roots: () => readonly X509Certificate[];
  readonly #verifier = new ChainVerifier();

  constructor(roots: () => readonly X509Certificate[]) {
    this.#roots = roots;
  }

  async authenticate(request: AuthenticationRequest): Promise<AuthenticationResult> {
    const roots = this.#roots();
    if (request.chain.length === 0 || roots.length === 0) return { kind: 'none' };
    const verdict = await this.#verifier.verify(request.connection, request.chain, roots);
    // Another authenticator (a bearer token) may still succeed; the reason is for the log.
    if (!verdict.ok) return { kind: 'none', reason: `x509: ${verdict.reason}` };
    const name = subjectValues(verdict.leaf, 'CN')[0] ?? '';
    if (!name) return { kind: 'rejected', reason: 'client certificate has no common name', method: 'x509' };
    const groups = subjectValues(verdict.leaf, 'O');
    return { kind: 'user', method: 'x509', user: { name, groups: [...groups, ALL_AUTHENTICATED], extra: {} } };
  }
}
