import type { IncomingMessage } from 'node:http';
import type { X509Certificate } from 'node:crypto';

export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra: Record<string, string[]>;
}

export interface AuthenticationRequest {
  /** Verified-or-not client certificate chain, leaf first; empty when none was presented. */
  chain: readonly X509Certificate[];
  /** The connection the chain came with: verdicts on the chain are kept per connection. */
  connection: object;
  headers: IncomingMessage['headersDistinct'];
}

export type AuthenticationResult =
  | { kind: 'user'; user: UserInfo; method: string }
  /** Not recognised; a reason says why a presented credential did not do (for the log). */
  | { kind: 'none'; reason?: string }
  | { kind: 'rejected'; reason: string; method: string };

/** One way of authenticating a request; 'none' lets the next authenticator try. */
export interface Authenticator {
  authenticate(request: AuthenticationRequest): AuthenticationResult | Promise<AuthenticationResult>;
}

export const ALL_AUTHENTICATED = 'system:authenticated';
