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
  chain: X509Certificate[];
  headers: IncomingMessage['headersDistinct'];
}

export type AuthenticationResult =
  | { kind: 'user'; user: UserInfo; method: string }
  | { kind: 'none' }
  | { kind: 'rejected'; reason: string; method: string };

/** One way of authenticating a request; 'none' lets the next authenticator try. */
export interface Authenticator {
  authenticate(request: AuthenticationRequest): AuthenticationResult | Promise<AuthenticationResult>;
}

export const ALL_AUTHENTICATED = 'system:authenticated';
