// Seed data: a plain JSON-able description of a deployment, applied to a
// fresh State with every object already in its final state (no pending jobs).
import type { WorkspaceTransition } from '../../../pkg/coder/types.ts';
import type { State, UserRecord } from './state.ts';
import { BUILD_ERROR, buildFailure, importFailure, packTar, readme } from './tar.ts';

export interface SeedOrg {
  name: string;
  display_name?: string;
  description?: string;
  icon?: string;
  /** The default organization (`{organization}` = `default`); first org when none is marked. */
  default?: boolean;
}

export interface SeedUser {
  username: string;
  email: string;
  name?: string;
  /** Password for POST /users/login. */
  password?: string;
  /** Site roles, e.g. `["owner"]`. */
  roles?: string[];
  /** Organization names the user belongs to. */
  orgs?: string[];
}

export interface SeedTemplate {
  org: string;
  name: string;
  display_name?: string;
  description?: string;
  icon?: string;
  /** Username of the creator (defaults to the admin user). */
  created_by?: string;
  /** Name of the single active version (default `v1`). */
  version_name?: string;
  /** Template source, path → text; packed into a real tar. */
  files: Record<string, string>;
  default_ttl_ms?: number;
  deprecation_message?: string;
}

export interface SeedWorkspace {
  owner: string;
  /** `<org>/<template>`. */
  template: string;
  name: string;
  /** Final state of the latest build. */
  state: 'running' | 'stopped' | 'failed';
  ttl_ms?: number;
  autostart_schedule?: string;
}

export interface Seed {
  /** User that holds the admin token (default: first owner). */
  adminUser?: string;
  orgs: SeedOrg[];
  users: SeedUser[];
  templates: SeedTemplate[];
  workspaces: SeedWorkspace[];
}

const DOCKER_TF = `terraform {
  required_providers {
    coder  = { source = "coder/coder" }
    docker = { source = "kreuzwerker/docker" }
  }
}

data "coder_workspace" "me" {}

resource "coder_agent" "main" {
  os   = "linux"
  arch = "amd64"
}

resource "docker_container" "workspace" {
  count = data.coder_workspace.me.start_count
  image = "codercom/enterprise-base:ubuntu"
  name  = "coder-\${data.coder_workspace.me.name}"
}
`;

const KUBERNETES_TF = `terraform {
  required_providers {
    coder      = { source = "coder/coder" }
    kubernetes = { source = "hashicorp/kubernetes" }
  }
}

variable "namespace" {
  type    = string
  default = "coder-workspaces"
}

resource "coder_agent" "main" {
  os   = "linux"
  arch = "amd64"
}
`;

const PYTHON_TF = `terraform {
  required_providers {
    coder = { source = "coder/coder" }
  }
}

resource "coder_agent" "main" {
  os             = "linux"
  arch           = "amd64"
  startup_script = "pip install --user jupyterlab"
}
`;

/** Orgs coder + acme, users admin/alice/bob, three templates, three workspaces. */
export function defaultSeed(): Seed {
  return {
    adminUser: 'admin',
    orgs: [
      { name: 'coder', display_name: 'Coder', default: true },
      { name: 'acme', display_name: 'ACME Corp', description: 'A second organization' },
    ],
    users: [
      { username: 'admin', email: 'admin@coder.com', name: 'Admin', password: 'SomeSecurePassword!', roles: ['owner'], orgs: ['coder', 'acme'] },
      { username: 'alice', email: 'alice@coder.com', name: 'Alice', password: 'AliceSecurePassword!', orgs: ['coder'] },
      { username: 'bob', email: 'bob@coder.com', name: 'Bob', password: 'BobSecurePassword!', orgs: ['coder', 'acme'] },
    ],
    templates: [
      {
        org: 'coder',
        name: 'docker',
        display_name: 'Docker Containers',
        description: 'Develop in Docker containers',
        icon: '/icon/docker.png',
        files: { 'main.tf': DOCKER_TF, 'README.md': '# Docker\n\nWorkspaces as Docker containers.\n' },
      },
      {
        org: 'coder',
        name: 'kubernetes',
        display_name: 'Kubernetes (Deployment)',
        description: 'Develop in Kubernetes pods',
        icon: '/icon/k8s.png',
        files: { 'main.tf': KUBERNETES_TF },
        default_ttl_ms: 8 * 3600 * 1000,
      },
      {
        org: 'acme',
        name: 'python',
        display_name: 'Python',
        description: 'Python data science environment',
        icon: '/icon/python.svg',
        created_by: 'bob',
        files: { 'main.tf': PYTHON_TF },
      },
    ],
    workspaces: [
      { owner: 'alice', template: 'coder/docker', name: 'dev', state: 'running' },
      { owner: 'bob', template: 'acme/python', name: 'ml', state: 'stopped' },
      { owner: 'admin', template: 'coder/kubernetes', name: 'sandbox', state: 'running', ttl_ms: 4 * 3600 * 1000, autostart_schedule: 'CRON_TZ=UTC 30 8 * * 1-5' },
    ],
  };
}

/** An empty deployment (only the default org), for first-user bootstrap tests. */
export function emptySeed(): Seed {
  return { orgs: [], users: [], templates: [], workspaces: [] };
}

function fail(message: string): never {
  throw new Error(`fake coderd seed: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the shape of a seed read from a JSON file. */
export function parseSeed(value: unknown): Seed {
  if (!isRecord(value)) fail('must be a JSON object');
  for (const key of ['orgs', 'users', 'templates', 'workspaces']) {
    const list = value[key];
    if (list !== undefined && !Array.isArray(list)) fail(`"${key}" must be an array`);
    if (Array.isArray(list) && !list.every(isRecord)) fail(`"${key}" must contain objects`);
  }
  const seed = { orgs: [], users: [], templates: [], workspaces: [], ...value } as Seed;
  if (seed.adminUser !== undefined && typeof seed.adminUser !== 'string') fail('"adminUser" must be a string');
  for (const o of seed.orgs) if (typeof o.name !== 'string') fail('every org needs a "name"');
  for (const u of seed.users) if (typeof u.username !== 'string' || typeof u.email !== 'string') fail('every user needs "username" and "email"');
  for (const t of seed.templates) {
    if (typeof t.org !== 'string' || typeof t.name !== 'string' || !isRecord(t.files)) fail('every template needs "org", "name" and "files"');
  }
  for (const w of seed.workspaces) {
    if (typeof w.owner !== 'string' || typeof w.template !== 'string' || typeof w.name !== 'string') fail('every workspace needs "owner", "template" and "name"');
    if (!['running', 'stopped', 'failed'].includes(w.state)) fail(`workspace "${w.name}": state must be running, stopped or failed`);
  }
  return seed;
}

const ADMIN_TOKEN_LIFETIME_S = 365 * 24 * 3600;

/**
 * Fills an empty State. Returns the admin session token ('' when the seed has
 * no owner); `adminToken` fixes its value.
 */
export async function applySeed(state: State, seed: Seed, adminToken?: string): Promise<string> {
  const orgs = seed.orgs.length > 0 ? seed.orgs : [{ name: 'coder', display_name: 'Coder', description: 'Builtin default organization.', default: true }];
  const defaultName = (orgs.find((o) => o.default) ?? orgs[0])?.name;
  for (const o of orgs) state.createOrg({ ...o, is_default: o.name === defaultName });
  const orgId = (name: string): string => state.orgByParam(name)?.id ?? fail(`unknown org "${name}"`);
  const userNamed = (name: string): UserRecord => state.userByUsername(name) ?? fail(`unknown user "${name}"`);

  for (const u of seed.users) {
    state.createUser({
      username: u.username,
      email: u.email,
      name: u.name,
      password: u.password ?? null,
      roles: u.roles ?? [],
      organization_ids: (u.orgs ?? []).map(orgId),
    });
  }
  const adminName = seed.adminUser ?? seed.users.find((u) => u.roles?.includes('owner'))?.username;
  const admin = adminName === undefined ? undefined : userNamed(adminName);
  let token = '';
  if (admin) {
    token = state.createApiKey(admin.id, { loginType: 'token', lifetimeSeconds: ADMIN_TOKEN_LIFETIME_S, tokenName: 'coder-fake-admin', token: adminToken }).token;
  }

  for (const t of seed.templates) {
    const creator = t.created_by !== undefined ? userNamed(t.created_by) : (admin ?? fail(`template "${t.name}" needs "created_by"`));
    const data = await packTar(t.files);
    const entries = Object.entries(t.files).map(([name, text]) => ({ name, type: 'file' as const, data: Buffer.from(text) }));
    const { file } = state.createFile(creator.id, 'application/x-tar', data);
    const organizationId = orgId(t.org);
    const version = state.createVersion({
      organizationId,
      templateId: null,
      name: t.version_name ?? 'v1',
      message: '',
      fileId: file.id,
      createdBy: creator.id,
      provisioner: 'terraform',
      tags: null,
      readme: readme(entries),
      importFailure: importFailure(entries),
      buildFailure: buildFailure(entries),
    });
    state.finishJob(state.jobOf(version), state.jobOf(version).planned_failure?.error ?? null);
    state.createTemplate({
      organization_id: organizationId,
      name: t.name,
      display_name: t.display_name ?? '',
      description: t.description ?? '',
      icon: t.icon ?? '',
      provisioner: 'terraform',
      active_version_id: version.id,
      created_by_id: creator.id,
      default_ttl_ms: t.default_ttl_ms ?? 0,
      deprecation_message: t.deprecation_message ?? '',
    });
  }

  for (const w of seed.workspaces) {
    const owner = userNamed(w.owner);
    const [orgName = '', templateName = ''] = w.template.split('/');
    const template = state.templateByName(orgId(orgName), templateName) ?? fail(`unknown template "${w.template}"`);
    const workspace = state.createWorkspace({
      ownerId: owner.id,
      organizationId: template.organization_id,
      templateId: template.id,
      name: w.name,
      autostartSchedule: w.autostart_schedule ?? null,
      ttlMs: w.ttl_ms ?? (template.default_ttl_ms || null),
      automaticUpdates: 'never',
    });
    const transitions: WorkspaceTransition[] = w.state === 'stopped' ? ['start', 'stop'] : ['start'];
    for (const transition of transitions) {
      const build = state.createBuild(workspace, { versionId: template.active_version_id, transition, initiatorId: owner.id, reason: 'initiator' });
      state.finishJob(state.jobOf(build), w.state === 'failed' ? BUILD_ERROR : null);
      if (transition === 'start' && w.state === 'running' && workspace.ttl_ms !== null) {
        build.deadline = new Date(Date.now() + workspace.ttl_ms).toISOString();
      }
    }
  }
  return token;
}
