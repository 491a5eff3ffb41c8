import type { UserInfo } from '../authn/types.ts';
import type { RequestInfo } from '../request-info.ts';

export type AuthorizationDecision = { allowed: true } | { allowed: false; reason: string };

export interface Authorizer {
  authorize(user: UserInfo, request: RequestInfo): AuthorizationDecision | Promise<AuthorizationDecision>;
}

/** Every authenticated user may do everything (static mode until delegated authorization). */
export class AlwaysAllowAuthorizer implements Authorizer {
  authorize(): AuthorizationDecision {
    return { allowed: true };
  }
}
