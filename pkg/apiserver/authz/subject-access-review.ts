import { AuthorizationV1Api, type KubeConfig, type V1SubjectAccessReviewSpec } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../../logging/logger.ts';
import type { UserInfo } from '../authn/types.ts';
import type { RequestInfo } from '../request-info.ts';
import type { AuthorizationDecision, Authorizer } from './types.ts';

export interface SubjectAccessReviewOptions {
  allowedTtlMs?: number;
  deniedTtlMs?: number;
  /** Groups allowed without asking (kube's default: system:masters). */
  alwaysAllowGroups?: readonly string[];
  logger: Logger;
}

export function reviewSpec(user: UserInfo, request: RequestInfo): V1SubjectAccessReviewSpec {
  const spec: V1SubjectAccessReviewSpec = { user: user.name, groups: user.groups, extra: user.extra };
  if (user.uid) spec.uid = user.uid;
  if (request.isResourceRequest) {
    spec.resourceAttributes = {
      verb: request.verb,
      group: request.apiGroup,
      version: request.apiVersion,
      resource: request.resource,
      ...(request.subresource ? { subresource: request.subresource } : {}),
      ...(request.namespace ? { namespace: request.namespace } : {}),
      ...(request.name ? { name: request.name } : {}),
    };
  } else {
    spec.nonResourceAttributes = { path: request.path, verb: request.verb };
  }
  return spec;
}

/**
 * Delegated authorization: kube-apiserver decides through SubjectAccessReview (RBAC and
 * whatever else it runs). Decisions are cached briefly, allowed and denied alike, as kube's
 * delegating authorizer does; failures to ask are denials that are not cached.
 */
export class SubjectAccessReviewAuthorizer implements Authorizer {
  readonly #api: AuthorizationV1Api;
  readonly #allowed: LRUCache<string, true>;
  readonly #denied: LRUCache<string, string>;
  readonly #alwaysAllow: readonly string[];
  readonly #logger: Logger;

  constructor(kubeConfig: KubeConfig, options: SubjectAccessReviewOptions) {
    this.#api = kubeConfig.makeApiClient(AuthorizationV1Api);
    this.#allowed = new LRUCache({ max: 10_000, ttl: options.allowedTtlMs ?? 10_000 });
    this.#denied = new LRUCache({ max: 10_000, ttl: options.deniedTtlMs ?? 10_000 });
    this.#alwaysAllow = options.alwaysAllowGroups ?? ['system:masters'];
    this.#logger = options.logger;
  }

  async authorize(user: UserInfo, request: RequestInfo): Promise<AuthorizationDecision> {
    if (user.groups.some((g) => this.#alwaysAllow.includes(g))) return { allowed: true };
    const spec = reviewSpec(user, request);
    const key = JSON.stringify(spec);
    if (this.#allowed.get(key)) return { allowed: true };
    const deniedReason = this.#denied.get(key);
    if (deniedReason !== undefined) return { allowed: false, reason: deniedReason };
    try {
      const review = await this.#api.createSubjectAccessReview({
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec },
      });
      if (review.status?.allowed) {
        this.#allowed.set(key, true);
        return { allowed: true };
      }
      const reason = review.status?.reason ?? review.status?.evaluationError ?? '';
      this.#denied.set(key, reason);
      return { allowed: false, reason };
    } catch (err) {
      this.#logger.warn('SubjectAccessReview failed', { error: err instanceof Error ? err.message : String(err) });
      return { allowed: false, reason: 'authorization check unavailable' };
    }
  }
}
