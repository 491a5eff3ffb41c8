import type { X509Certificate } from 'node:crypto';
import { verifyClientChain, subjectValues } from './x509.ts';
import { ALL_AUTHENTICATED, type AuthenticationRequest, type AuthenticationResult, type Authenticator } from './types.ts';

/** x509 client certificates signed by the client CA: user = CN, groups = O (as kube-apiserver). */
export class ClientCertAuthenticator implements Authenticator {
  readonly #roots: () => readonly X509Certificate[];

  constructor(roots: () => readonly X509Certificate[]) {
    this.#roots = roots;
  }

  authenticate(request: AuthenticationRequest): AuthenticationResult {
    if (request.chain.length === 0 || this.#roots().length === 0) return { kind: 'none' };
    const verdict = verifyClientChain(request.chain, this.#roots());
    if (!verdict.ok) return { kind: 'none' };
    const name = subjectValues(verdict.leaf, 'CN')[0] ?? '';
    if (!name) return { kind: 'rejected', reason: 'client certificate has no common name', method: 'x509' };
    const groups = subjectValues(verdict.leaf, 'O');
    return { kind: 'user', method: 'x509', user: { name, groups: [...groups, ALL_AUTHENTICATED], extra: {} } };
  }
}
