import { FormatRegistry, Type, type Static } from '@sinclair/typebox';

// TypeBox ships no formats; RFC 3339 timestamps are the only one these schemas use.
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value));
}

// One schema source: these TypeBox schemas are the TypeScript types, the request-body
// validator and the OpenAPI v2/v3 documents served to kubectl.

const description = (text: string) => ({ description: text });

export const BuildState = Type.Object(
  {
    versionID: Type.String(description('Coder template version ID.')),
    versionName: Type.Optional(Type.String(description('Coder template version name.'))),
    status: Type.String(
      description('Provisioner job status: pending, running, succeeded, failed, canceling or canceled.'),
    ),
    message: Type.Optional(Type.String(description('Why the build failed or is waiting, when it did or is.'))),
    startedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When the build started.' })),
    completedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When the build finished.' })),
  },
  description('The state of a template version import (build) in Coder.'),
);
export type BuildState = Static<typeof BuildState>;

export const Condition = Type.Object(
  {
    type: Type.String(description('Condition type: Ready, Building or Failed.')),
    status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')], description('True, False or Unknown.')),
    reason: Type.String(description('One-word CamelCase reason for the status.')),
    message: Type.String(description('Human-readable detail, such as Coder\'s build error.')),
    lastTransitionTime: Type.String({ format: 'date-time', description: 'When the Coder build that decides this condition started or finished.' }),
  },
  description('A metav1.Condition, derived from Coder on every read.'),
);
export type Condition = Static<typeof Condition>;

const conditions = (text: string) =>
  Type.Optional(
    Type.Array(Condition, {
      description: text,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    }),
  );

export const CoderTemplateSpec = Type.Object(
  {
    organization: Type.String(
      description('Coder organization name. Required on create; must equal the organization prefix of metadata.name.'),
    ),
    versionID: Type.Optional(
      Type.String(
        description('ID of an existing Coder template version to create the template from. Used on create only; read-only after.'),
      ),
    ),
    displayName: Type.Optional(Type.String(description('Human-friendly template name shown in Coder.'))),
    description: Type.Optional(Type.String(description('Template description (under 128 bytes).'))),
    icon: Type.Optional(Type.String(description('Icon URL or path shown in Coder.'))),
    files: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        'x-kubernetes-map-type': 'atomic',
        description:
          'Template source: relative slash-separated path -> UTF-8 file content. Filled on GET, omitted on LIST. ' +
          'Changing it uploads a new version, waits for its build and promotes it; identical files create no version.',
      }),
    ),
  },
  description('Desired state of a Coder template.'),
);
export type CoderTemplateSpec = Static<typeof CoderTemplateSpec>;

export const CoderTemplateStatus = Type.Object(
  {
    id: Type.Optional(Type.String(description('Coder template ID (also metadata.uid).'))),
    organizationName: Type.Optional(Type.String(description('Coder organization name.'))),
    activeVersionID: Type.Optional(Type.String(description('ID of the active template version.'))),
    deprecated: Type.Optional(Type.Boolean(description('Whether the template is deprecated in Coder.'))),
    updatedAt: Type.Optional(Type.String({ format: 'date-time', description: 'Last update time in Coder.' })),
    activeVersionBuild: Type.Optional({ ...BuildState, description: 'Build state of the active version.' }),
    omittedFiles: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'Files of the active version that spec.files cannot carry (not UTF-8 text). While any exist, changes to spec.files are refused so they are not lost; publish such templates with the Coder CLI.',
      }),
    ),
    latestVersionBuild: Type.Optional({
      ...BuildState,
      description:
        'Build state of the newest version when it is not the active one: a build still running (it is promoted when it succeeds) or one that failed.',
    }),
    conditions: conditions(
      'Ready: the active version built. Building and Failed (GET only, since they need the newest version): a newer version is building, or failed to build.',
    ),
  },
  description('Observed state of a Coder template.'),
);
export type CoderTemplateStatus = Static<typeof CoderTemplateStatus>;

export const CoderWorkspaceSpec = Type.Object(
  {
    organization: Type.String(
      description('Coder organization name; must equal the organization prefix of metadata.name.'),
    ),
    templateName: Type.String(description('Name of the Coder template the workspace is built from.')),
    templateVersionID: Type.Optional(
      Type.String(description('Pin the workspace to this template version; empty uses the active version.')),
    ),
    running: Type.Optional(
      Type.Boolean(description('Desired power state: true starts the workspace, false stops it. Defaults to true on create.')),
    ),
    ttlMillis: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Auto-stop after this many milliseconds of inactivity; 0 disables.' }),
    ),
    autostartSchedule: Type.Optional(
      Type.String(description('Weekly cron schedule for auto-start, e.g. "CRON_TZ=Europe/Berlin 30 9 * * 1-5".')),
    ),
  },
  description('Desired state of a Coder workspace.'),
);
export type CoderWorkspaceSpec = Static<typeof CoderWorkspaceSpec>;

export const CoderWorkspaceStatus = Type.Object(
  {
    id: Type.Optional(Type.String(description('Coder workspace ID (also metadata.uid).'))),
    ownerName: Type.Optional(Type.String(description('Username of the owner.'))),
    organizationName: Type.Optional(Type.String(description('Coder organization name.'))),
    templateName: Type.Optional(Type.String(description('Template the workspace is built from.'))),
    templateVersionID: Type.Optional(Type.String(description('Template version of the latest build.'))),
    latestBuildID: Type.Optional(Type.String(description('ID of the latest workspace build.'))),
    latestBuildStatus: Type.Optional(
      Type.String(
        description('Workspace status of the latest build: pending, starting, running, stopping, stopped, failed, canceling, canceled, deleting or deleted.'),
      ),
    ),
    latestBuildTransition: Type.Optional(Type.String(description('Transition of the latest build: start, stop or delete.'))),
    outdated: Type.Optional(Type.Boolean(description('Whether a newer template version is active.'))),
    autoShutdown: Type.Optional(
      Type.String({ format: 'date-time', description: 'When the running workspace will be stopped automatically.' }),
    ),
    lastUsedAt: Type.Optional(Type.String({ format: 'date-time', description: 'Last time the workspace was used.' })),
    conditions: conditions(
      'Ready: the latest build succeeded and the workspace is in its desired power state. Building: a build is in progress. Failed: the latest build failed (with Coder\'s error).',
    ),
  },
  description('Observed state of a Coder workspace.'),
);
export type CoderWorkspaceStatus = Static<typeof CoderWorkspaceStatus>;
