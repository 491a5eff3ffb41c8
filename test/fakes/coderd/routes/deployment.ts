// Deployment-wide endpoints: build info, organizations, licenses and
// entitlements (enterprise routes reduced to what coder-k8s reads).
import type { BuildInfoResponse } from '../../../../pkg/coder/types.ts';
import { canReadOrg, requireRole } from '../auth.ts';
import { badRequest, notFound, tagFailure, validationFailed } from '../errors.ts';
import type { Reply, Req, Route } from '../server.ts';
import type { LicenseRecord, State } from '../state.ts';
import { orgParam } from './params.ts';

export const FEATURE_NAMES = [
  'user_limit', 'audit_log', 'connection_log', 'browser_only', 'scim', 'template_rbac', 'user_role_management',
  'high_availability', 'multiple_external_auth', 'external_provisioner_daemons', 'appearance',
  'advanced_template_scheduling', 'workspace_proxy', 'external_token_encryption', 'workspace_batch_actions',
  'task_batch_actions', 'access_control', 'control_shared_ports', 'custom_roles', 'multiple_organizations',
  'workspace_prebuilds', 'managed_agent_limit', 'workspace_external_agent', 'aibridge', 'boundary',
  'ai_governance_user_limit',
] as const;

function buildInfo(req: Req): Reply {
  const { url, buildVersion, state } = req.app;
  const body: BuildInfoResponse = {
    // buildinfo.ExternalURL(): the commit's page, or the repository for a build without one.
    external_url: 'https://github.com/coder/coder',
    version: buildVersion,
    dashboard_url: url,
    telemetry: false,
    workspace_proxy: false,
    // What v2.30.0 reports (proto versions of the agent and provisioner APIs).
    agent_api_version: '1.0',
    provisioner_api_version: '1.14',
    upgrade_message: '',
    deployment_id: state.deploymentId,
  };
  return { status: 200, json: body };
}

function featureValue(license: LicenseRecord, name: string): number {
  const features = license.claims.features;
  if (typeof features !== 'object' || features === null) return 0;
  const value = (features as Record<string, unknown>)[name];
  return typeof value === 'number' ? value : 0;
}

/** Entitlements follow uploaded license claims: `all_features` or `features.<name> > 0`. */
export function entitlements(state: State): Record<string, unknown> {
  const licenses = [...state.licenses.values()];
  const features: Record<string, Record<string, unknown>> = {};
  for (const name of FEATURE_NAMES) {
    const granting = licenses.find((l) => l.claims.all_features === true || featureValue(l, name) > 0);
    const feature: Record<string, unknown> = { entitlement: granting ? 'entitled' : 'not_entitled', enabled: granting !== undefined };
    if (name === 'user_limit' && granting) {
      feature.limit = featureValue(granting, name);
      feature.actual = state.users.size;
    }
    features[name] = feature;
  }
  return {
    features,
    warnings: [],
    errors: [],
    has_license: licenses.length > 0,
    trial: licenses.some((l) => l.claims.trial === true),
    require_telemetry: false,
    refreshed_at: new Date().toISOString(),
  };
}

function getEntitlements(req: Req): Reply {
  return { status: 200, json: entitlements(req.app.state) };
}

function licenseView(l: LicenseRecord): Record<string, unknown> {
  return { id: l.id, uuid: l.uuid, uploaded_at: l.uploaded_at, claims: l.claims };
}

function listLicenses(req: Req): Reply {
  const licenses = [...req.app.state.licenses.values()];
  return { status: 200, json: licenses.length === 0 ? null : licenses.map(licenseView) };
}

/** Decodes (does not verify) a JWT's claims; the fake trusts any well-formed license. */
function decodeClaims(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1];
  if (jwt.split('.').length !== 3 || payload === undefined) throw badRequest('Invalid license', undefined, 'token is malformed: token contains an invalid number of segments');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('Invalid license', undefined, 'token is malformed: could not JSON decode claim');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw badRequest('Invalid license', undefined, 'invalid claims');
  const record = claims as Record<string, unknown>;
  if (typeof record.exp !== 'number') throw badRequest('Invalid license', undefined, 'license is missing an exp claim');
  return record;
}

async function postLicense(req: Req): Promise<Reply> {
  requireRole(req.actor.user);
  const jwt = (await req.json()).str('license') ?? '';
  if (jwt === '') throw validationFailed([tagFailure('license', 'required', '')]);
  const license = req.app.state.addLicense(decodeClaims(jwt));
  return { status: 201, json: licenseView(license) };
}

function deleteLicense(req: Req): Reply {
  requireRole(req.actor.user);
  const raw = req.param('id');
  const id = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!req.app.state.licenses.delete(id)) throw notFound();
  return { status: 200 };
}

function listOrgs(req: Req): Reply {
  const user = req.actor.user;
  return { status: 200, json: req.app.state.orgs.filter((o) => canReadOrg(user, o.id)) };
}

function getOrg(req: Req): Reply {
  return { status: 200, json: orgParam(req) };
}

export const deploymentRoutes: Route[] = [
  { method: 'GET', path: '/buildinfo', public: true, handler: buildInfo },
  { method: 'GET', path: '/entitlements', public: true, enterprise: true, handler: getEntitlements },
  { method: 'GET', path: '/licenses', enterprise: true, handler: listLicenses },
  { method: 'POST', path: '/licenses', enterprise: true, handler: postLicense },
  { method: 'DELETE', path: '/licenses/{id}', enterprise: true, handler: deleteLicense },
  { method: 'GET', path: '/organizations', handler: listOrgs },
  { method: 'GET', path: '/organizations/{organization}', handler: getOrg },
];

