// Users, login and API tokens (coderd/users.go, coderd/apikey.go).
import type { ValidationError } from '../../../../pkg/coder/types.ts';
import { hasRole, requireRole } from '../auth.ts';
import type { Body } from '../body.ts';
import { ApiError, badRequest, forbidden, notFound, tagFailure, validationFailed } from '../errors.ts';
import { randomName } from '../random.ts';
import type { Reply, Req, Route } from '../server.ts';
import type { UserRecord } from '../state.ts';
import { userView } from '../views.ts';
import { emailValid, nameValid, passwordProblem, userRealNameValid } from '../validate.ts';
import { userParam } from './params.ts';

const SESSION_LIFETIME_S = 24 * 3600;
const DEFAULT_TOKEN_LIFETIME_S = 7 * 24 * 3600;
const MAX_TOKEN_LIFETIME_S = 100 * 365 * 24 * 3600;
/** Owners are capped by --max-admin-token-lifetime (7 days by default). */
const MAX_ADMIN_TOKEN_LIFETIME_S = 7 * 24 * 3600;
const SITE_ROLES = new Set(['owner', 'user-admin', 'template-admin', 'auditor', 'member']);
const LOGIN_TYPES = new Set(['password', 'github', 'oidc', 'none']);

/** Go's time.Duration String() for whole seconds, e.g. 168h0m0s. */
export function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

function checkUserFields(body: Body, requirePassword: boolean): { email: string; username: string; name: string; password: string } {
  const email = body.str('email') ?? '';
  const username = body.str('username') ?? '';
  const name = body.str('name') ?? '';
  const password = body.str('password') ?? '';
  const problems: ValidationError[] = [];
  if (email === '') problems.push(tagFailure('email', 'required', email));
  else if (!emailValid(email)) problems.push(tagFailure('email', 'email', email));
  if (username === '') problems.push(tagFailure('username', 'required', username));
  else if (!nameValid(username)) problems.push(tagFailure('username', 'username', username));
  if (!userRealNameValid(name)) problems.push(tagFailure('name', 'user_real_name', name));
  if (requirePassword && password === '') problems.push(tagFailure('password', 'required', password));
  if (problems.length > 0) throw validationFailed(problems);
  return { email, username, name, password };
}

/** coderd words it differently per endpoint: POST /users/first "Password not strong enough!", POST /users "Password is invalid". */
function checkPassword(password: string, message: string): void {
  const problem = passwordProblem(password);
  if (problem) throw badRequest(message, [{ field: 'password', detail: problem }]);
}

function maxLifetimeSeconds(user: UserRecord): number {
  return user.roles.includes('owner') ? MAX_ADMIN_TOKEN_LIFETIME_S : MAX_TOKEN_LIFETIME_S;
}

/** Acting on someone else's account needs owner or user-admin. */
function requireSelfOrUserAdmin(req: Req, target: UserRecord): void {
  if (target.id !== req.actor.user.id) requireRole(req.actor.user, 'user-admin');
}

function getFirstUser(req: Req): Reply {
  if (req.app.state.users.size === 0) throw new ApiError(404, 'The initial user has not been created!');
  return { status: 200, json: { message: 'The initial user has already been created!' } };
}

async function postFirstUser(req: Req): Promise<Reply> {
  const { state } = req.app;
  if (state.users.size > 0) throw new ApiError(409, 'The initial user has already been created.');
  const fields = checkUserFields(await req.json(), true);
  checkPassword(fields.password, 'Password not strong enough!');
  const org = state.defaultOrg() ?? state.createOrg({ name: 'coder', display_name: 'Coder', description: 'Builtin default organization.', is_default: true });
  const user = state.createUser({ ...fields, login_type: 'password', roles: ['owner'], organization_ids: [org.id] });
  return { status: 201, json: { user_id: user.id, organization_id: org.id } };
}

async function login(req: Req): Promise<Reply> {
  const body = await req.json();
  const email = body.str('email') ?? '';
  const password = body.str('password') ?? '';
  const problems: ValidationError[] = [];
  if (email === '') problems.push(tagFailure('email', 'required', email));
  else if (!emailValid(email)) problems.push(tagFailure('email', 'email', email));
  if (password === '') problems.push(tagFailure('password', 'required', password));
  if (problems.length > 0) throw validationFailed(problems);

  const user = req.app.state.userByEmail(email);
  if (!user || (user.login_type === 'password' && user.password !== password)) {
    throw new ApiError(401, 'Incorrect email or password.');
  }
  if (user.login_type !== 'password') {
    throw new ApiError(403, `Incorrect login type, attempting to use "password" but user is of login type "${user.login_type}".`);
  }
  if (user.status === 'suspended') throw new ApiError(401, 'Your account is suspended. Contact an admin to reactivate your account.');
  if (user.status === 'dormant') user.status = 'active';
  const { token } = req.app.state.createApiKey(user.id, { loginType: 'password', lifetimeSeconds: SESSION_LIFETIME_S, tokenName: '' });
  return {
    status: 201,
    json: { session_token: token },
    headers: { 'Set-Cookie': `coder_session_token=${token}; Path=/; HttpOnly; SameSite=Lax` },
  };
}

function getUser(req: Req): Reply {
  return { status: 200, json: userView(userParam(req)) };
}

async function postUser(req: Req): Promise<Reply> {
  requireRole(req.actor.user, 'user-admin');
  const { state } = req.app;
  const body = await req.json();
  const fields = checkUserFields(body, false);
  const loginType = body.str('login_type') ?? '';
  const effectiveType = loginType === '' ? 'password' : loginType;
  if (!LOGIN_TYPES.has(effectiveType)) throw badRequest(`Unsupported login type "${loginType}" for manually creating new users.`);
  if (effectiveType !== 'password' && fields.password !== '') {
    throw badRequest(`Password cannot be set for non-password ("${effectiveType}") authentication.`);
  }
  if (state.userByUsername(fields.username) || state.userByEmail(fields.email)) throw new ApiError(409, 'User already exists.');
  if (effectiveType === 'password') checkPassword(fields.password, 'Password is invalid');
  const orgIds = [...(body.strArray('organization_ids') ?? [])];
  const legacyOrg = body.str('organization_id');
  if (legacyOrg) orgIds.push(legacyOrg);
  for (const id of orgIds) {
    if (!state.orgs.has(id.toLowerCase())) throw badRequest(`Organization does not exist with the provided id "${id}".`);
  }
  const status = body.str('user_status') ?? 'dormant';
  if (status !== 'active' && status !== 'dormant' && status !== 'suspended') {
    throw validationFailed([tagFailure('user_status', 'oneof', status)]);
  }
  const user = state.createUser({
    ...fields,
    password: effectiveType === 'password' ? fields.password : null,
    login_type: effectiveType as UserRecord['login_type'],
    status,
    organization_ids: [...new Set(orgIds.map((id) => id.toLowerCase()))],
  });
  return { status: 201, json: userView(user) };
}

async function putRoles(req: Req): Promise<Reply> {
  requireRole(req.actor.user, 'user-admin');
  const target = userParam(req);
  const roles = (await req.json()).strArray('roles');
  if (roles === undefined) throw validationFailed([tagFailure('roles', 'required', '')]);
  if (target.id === req.actor.user.id) throw badRequest('You cannot change your own roles.');
  for (const role of roles) {
    if (!SITE_ROLES.has(role)) throw badRequest(`"${role}" is not a supported role`);
  }
  const next = [...new Set(roles.filter((r) => r !== 'member'))];
  const changesOwner = next.includes('owner') !== target.roles.includes('owner');
  if (changesOwner && !req.actor.user.roles.includes('owner')) throw forbidden();
  target.roles = next;
  target.updated_at = new Date().toISOString();
  return { status: 200, json: userView(target) };
}

async function postToken(req: Req): Promise<Reply> {
  const target = userParam(req);
  requireSelfOrUserAdmin(req, target);
  const body = await req.json();
  const lifetimeNs = body.int('lifetime') ?? 0;
  const maxSeconds = maxLifetimeSeconds(target);
  let lifetimeSeconds = Math.floor(lifetimeNs / 1e9);
  if (lifetimeNs === 0) lifetimeSeconds = Math.min(DEFAULT_TOKEN_LIFETIME_S, maxSeconds);
  else if (lifetimeNs < 0) {
    throw badRequest('Failed to validate create API key request.', undefined, 'lifetime must be positive number greater than 0');
  } else if (lifetimeSeconds > maxSeconds) {
    throw badRequest('Failed to validate create API key request.', undefined, `lifetime must be less than ${goDuration(maxSeconds)}`);
  }
  const legacyScope = body.str('scope');
  const scopes = body.strArray('scopes') ?? (legacyScope === 'application_connect' ? ['coder:application_connect'] : ['coder:all']);
  for (const scope of scopes) {
    if (!/^[a-z_*-]+:[a-z_.*-]+$/.test(scope)) {
      throw badRequest('Failed to validate create API key request.', undefined, `invalid scope "${scope}"`);
    }
  }
  const tokenName = body.str('token_name') || randomName();
  const { state } = req.app;
  const duplicate = state.apiKeys.some((k) => k.user_id === target.id && k.login_type === 'token' && k.token_name === tokenName);
  if (duplicate) {
    throw new ApiError(409, `A token with name "${tokenName}" already exists.`, {
      validations: [{ field: 'name', detail: 'This value is already in use and should be unique.' }],
    });
  }
  const { token } = state.createApiKey(target.id, { loginType: 'token', lifetimeSeconds, tokenName, scopes });
  return { status: 201, json: { key: token } };
}

function listTokens(req: Req): Reply {
  const target = userParam(req);
  const all = req.query.get('include_all') === 'true' && hasRole(req.actor.user);
  if (!all && target.id !== req.actor.user.id) requireRole(req.actor.user);
  const { state } = req.app;
  const keys = state.apiKeys.filter((k) => k.login_type === 'token' && (all || k.user_id === target.id));
  // coderd encodes an empty result as JSON null (nil slice).
  if (keys.length === 0) return { status: 200, json: null };
  return {
    status: 200,
    json: keys.map((k) => ({
      id: k.id,
      user_id: k.user_id,
      last_used: k.last_used,
      expires_at: k.expires_at,
      created_at: k.created_at,
      updated_at: k.updated_at,
      login_type: k.login_type,
      scope: k.scopes.includes('coder:application_connect') ? 'application_connect' : 'all',
      scopes: [...k.scopes],
      token_name: k.token_name,
      lifetime_seconds: k.lifetime_seconds,
      allow_list: [...k.allow_list],
      username: state.users.get(k.user_id)?.username ?? '',
    })),
  };
}

function tokenConfig(req: Req): Reply {
  const target = userParam(req);
  requireSelfOrUserAdmin(req, target);
  return { status: 200, json: { max_token_lifetime: maxLifetimeSeconds(target) * 1e9 } };
}

function deleteKey(req: Req): Reply {
  const target = userParam(req);
  requireSelfOrUserAdmin(req, target);
  const key = req.app.state.apiKeys.get(req.param('keyid'));
  if (!key || key.user_id !== target.id) throw notFound();
  req.app.state.apiKeys.delete(key.id);
  return { status: 204 };
}

export const userRoutes: Route[] = [
  { method: 'GET', path: '/users/first', public: true, handler: getFirstUser },
  { method: 'POST', path: '/users/first', public: true, handler: postFirstUser },
  { method: 'POST', path: '/users/login', public: true, handler: login },
  { method: 'POST', path: '/users', handler: postUser },
  { method: 'GET', path: '/users/{user}', handler: getUser },
  { method: 'PUT', path: '/users/{user}/roles', handler: putRoles },
  { method: 'GET', path: '/users/{user}/keys/tokens/tokenconfig', handler: tokenConfig },
  { method: 'POST', path: '/users/{user}/keys/tokens', handler: postToken },
  { method: 'GET', path: '/users/{user}/keys/tokens', handler: listTokens },
  { method: 'DELETE', path: '/users/{user}/keys/{keyid}', handler: deleteKey },
];
