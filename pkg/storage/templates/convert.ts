import type { BuildState, CoderTemplateStatus } from '../../api/aggregation/v1alpha1/schema.ts';
import { API_VERSION, LABEL_ORGANIZATION, type CoderTemplate } from '../../api/aggregation/v1alpha1/types.ts';
import { templateObjectName } from '../../api/aggregation/v1alpha1/names.ts';
import type { Template, TemplateVersion } from '../../coder/types.ts';
import { templateConditions } from '../conditions.ts';
import { failureMessage } from './build-logs.ts';
import { kubeTime } from '../time.ts';

/** `failure`: the end of a failed build's log, after Coder's job.error (which names only the step). */
export function buildState(version: TemplateVersion, failure: readonly string[] = []): BuildState {
  const state: BuildState = { versionID: version.id, versionName: version.name, status: version.job.status };
  const message = failureMessage(version.job.error ?? '', failure);
  if (message) state.message = message;
  const startedAt = kubeTime(version.job.started_at);
  if (startedAt) state.startedAt = startedAt;
  const completedAt = kubeTime(version.job.completed_at);
  if (completedAt) state.completedAt = completedAt;
  return state;
}

export interface TemplateParts {
  active?: TemplateVersion | undefined;
  /** The newest version (GET reads it), reported only when it is not the active one. */
  latest?: TemplateVersion | undefined;
  /** Why failed versions failed (failureExcerpt of their logs), by version ID. */
  failures?: ReadonlyMap<string, readonly string[]> | undefined;
  files?: Record<string, string> | undefined;
  omittedFiles?: string[] | undefined;
}

export function toCoderTemplate(namespace: string, template: Template, parts: TemplateParts = {}): CoderTemplate {
  const status: CoderTemplateStatus = {
    id: template.id,
    organizationName: template.organization_name,
    activeVersionID: template.active_version_id,
    deprecated: template.deprecated,
  };
  const updatedAt = kubeTime(template.updated_at);
  if (updatedAt) status.updatedAt = updatedAt;
  if (parts.active) status.activeVersionBuild = buildState(parts.active, parts.failures?.get(parts.active.id));
  if (parts.omittedFiles && parts.omittedFiles.length > 0) status.omittedFiles = parts.omittedFiles;
  if (parts.latest && parts.latest.id !== template.active_version_id) status.latestVersionBuild = buildState(parts.latest, parts.failures?.get(parts.latest.id));
  status.conditions = templateConditions(status.activeVersionBuild, parts.latest ? { build: status.latestVersionBuild } : undefined);

  const object: CoderTemplate = {
    apiVersion: API_VERSION,
    kind: 'CoderTemplate',
    metadata: {
      name: templateObjectName(template.organization_name, template.name),
      namespace,
      uid: template.id,
      labels: { [LABEL_ORGANIZATION]: template.organization_name.toLowerCase() },
    },
    spec: {
      organization: template.organization_name.toLowerCase(),
      versionID: template.active_version_id,
      ...(template.display_name ? { displayName: template.display_name } : {}),
      ...(template.description ? { description: template.description } : {}),
      ...(template.icon ? { icon: template.icon } : {}),
      ...(parts.files ? { files: parts.files } : {}),
    },
    status,
  };
  const created = kubeTime(template.created_at);
  if (created) object.metadata.creationTimestamp = created;
  return object;
}
