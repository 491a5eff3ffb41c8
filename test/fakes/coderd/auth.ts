// API-key authentication (httpmw.ExtractAPIKey) and a deliberately small
// authorization model: site roles decide who may act on others' objects.
import { ApiError, MESSAGES, forbidden } from './errors.ts';
import { hashSecret } from './random.ts';
import { now } from './state.ts';
import type { ApiKeyRecord, State, UserRecord, WorkspaceRecord } from './state.ts';

export interface Actor {
  user: UserRecord;
  key: ApiKeyRecord;
}

export const SESSION_COOKIE = 'coder_session_token';

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return null;
}

/** Token lookup order of coderd: cookie, query, Coder-Session-Token header, Bearer header, access_token query. */
export function extractToken(headers: Record<string, string | string[] | undefined>, query: URLSearchParams): string | null {
  const header = (name: string): string | undefined => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const fromCookie = cookieValue(header('cookie'), SESSION_COOKIE);
  if (fromCookie) return fromCookie;
  const fromQuery = query.get(SESSION_COOKIE);
  if (fromQuery) return fromQuery;
  const fromHeader = header('coder-session-token');
  if (fromHeader) return fromHeader;
  const authorization = header('authorization');
  if (authorization?.toLowerCase().startsWith('bearer ')) return authorization.slice(7).trim();
  return query.get('access_token');
}

function signedOut(detail: string): ApiError {
  return new ApiError(401, MESSAGES.signedOut, { detail });
}

/** httpmw.SplitAPIToken's checks: two parts, a 10-character id and a 22-character secret. */
function tokenFormatProblem(token: string): string | null {
  const parts = token.split('-');
  const [id = '', secret = ''] = parts;
  if (parts.length !== 2) return `incorrect amount of API key parts, expected 2 got ${String(parts.length)}`;
  if (id.length !== 10) return `invalid API key ID length, expected 10 got ${String(id.length)}`;
  if (secret.length !== 22) return `invalid API key secret length, expected 22 got ${String(secret.length)}`;
  return null;
}

export function authenticate(state: State, token: string | null): Actor {
  if (token === null || token === '') {
    throw signedOut(`Cookie "${SESSION_COOKIE}" or query parameter must be provided.`);
  }
  const problem = tokenFormatProblem(token);
  if (problem) throw signedOut(`Invalid API key format: ${problem}`);
  const [id = '', secret = ''] = token.split('-');
  const key = state.apiKeys.get(id);
  if (!key) throw signedOut(`API key is invalid.`);
  if (key.secret_hash !== hashSecret(secret)) throw signedOut('API key secret is invalid.');
  if (Date.parse(key.expires_at) <= Date.now()) throw signedOut(`API key expired at "${key.expires_at}".`);
  const user = state.users.get(key.user_id);
  if (!user) throw signedOut('User not found.');
  if (user.status === 'suspended') {
    throw signedOut(`User is not active (status = "${user.status}"). Contact an admin to reactivate your account.`);
  }
  const t = now();
  key.last_used = t;
  user.last_seen_at = t;
  if (user.status === 'dormant') user.status = 'active';
  return { user, key };
}

export function hasRole(user: UserRecord, ...roles: string[]): boolean {
  return user.roles.includes('owner') || roles.some((r) => user.roles.includes(r));
}

/** 403 unless the user is an owner or holds one of `roles`. */
export function requireRole(user: UserRecord, ...roles: string[]): void {
  if (!hasRole(user, ...roles)) throw forbidden();
}

/** Orgs (and their templates) are visible to owners, auditors and members. */
export function canReadOrg(user: UserRecord, orgId: string): boolean {
  return hasRole(user, 'auditor') || user.organization_ids.includes(orgId);
}

export function canReadWorkspace(user: UserRecord, workspace: WorkspaceRecord): boolean {
  return workspace.owner_id === user.id || hasRole(user, 'auditor', 'template-admin');
}

export function canUpdateWorkspace(user: UserRecord, workspace: WorkspaceRecord): boolean {
  return workspace.owner_id === user.id || hasRole(user);
}

export function canManageTemplates(user: UserRecord): boolean {
  return hasRole(user, 'template-admin');
}
