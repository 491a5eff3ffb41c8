import type { AuthenticationRequest, AuthenticationResult, Authenticator } from './types.ts';

/**
 * Tries authenticators in order; the first that recognises the request decides. When none
 * does, the first reason one gave is kept.
 */
export class UnionAuthenticator implements Authenticator {
  readonly #authenticators: readonly Authenticator[];

  constructor(authenticators: readonly Authenticator[]) {
    this.#authenticators = authenticators;
  }

  async authenticate(request: AuthenticationRequest): Promise<AuthenticationResult> {
    let reason: string | undefined;
    for (const authenticator of this.#authenticators) {
      const result = await authenticator.authenticate(request);
      if (result.kind !== 'none') return result;
      reason ??= result.reason;
    }
    return reason === undefined ? { kind: 'none' } : { kind: 'none', reason };
  }
}
