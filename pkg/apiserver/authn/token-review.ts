import { createHash } from 'node:crypto';
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../../logging/logger.ts';
import { ALL_AUTHENTICATED, type AuthenticationRequest, type AuthenticationResult, type Authenticator, type UserInfo } from './types.ts';

export interface TokenReviewOptions {
  cacheTtlMs?: number;
  logger: Logger;
}

type Verdict = { user: UserInfo } | { error: string };

/**
 * Bearer tokens, checked by kube-apiserver through TokenReview. Verdicts are cached
 * briefly (keyed by a hash: the cache never holds tokens) as kube's webhook
 * authenticator does.
 */
export class TokenReviewAuthenticator implements Authenticator {
  readonly #api: AuthenticationV1Api;
  readonly #cache: LRUCache<string, Verdict>;
  readonly #logger: Logger;

  constructor(kubeConfig: KubeConfig, options: TokenReviewOptions) {
    this.#api = kubeConfig.makeApiClient(AuthenticationV1Api);
    this.#cache = new LRUCache({ max: 10_000, ttl: options.cacheTtlMs ?? 10_000 });
    this.#logger = options.logger;
  }

  async authenticate(request: AuthenticationRequest): Promise<AuthenticationResult> {
    const header = request.headers.authorization?.[0] ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) return { kind: 'none' };
    const token = match[1];
    const key = createHash('sha256').update(token).digest('hex');
    let verdict = this.#cache.get(key);
    if (!verdict) {
      try {
        verdict = await this.#review(token);
      } catch {
        return { kind: 'rejected', method: 'token', reason: 'token review unavailable' };
      }
      this.#cache.set(key, verdict);
    }
    return 'user' in verdict
      ? { kind: 'user', method: 'token', user: verdict.user }
      : { kind: 'rejected', method: 'token', reason: verdict.error };
  }

  async #review(token: string): Promise<Verdict> {
    try {
      const review = await this.#api.createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      });
      const status = review.status;
      if (!status?.authenticated || !status.user?.username) return { error: status?.error ?? 'token not authenticated' };
      const groups = [...(status.user.groups ?? [])];
      if (!groups.includes(ALL_AUTHENTICATED)) groups.push(ALL_AUTHENTICATED);
      return {
        user: {
          name: status.user.username,
          ...(status.user.uid ? { uid: status.user.uid } : {}),
          groups,
          extra: status.user.extra ?? {},
        },
      };
    } catch (err) {
      // Do not cache outages as verdicts: the next request asks again.
      this.#logger.warn('TokenReview failed', { error: err instanceof Error ? err.message : String(err) });
      throw err;
    }
  }
}
