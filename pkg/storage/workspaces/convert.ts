import type { CoderWorkspaceStatus } from '../../api/aggregation/v1alpha1/schema.ts';
import {
  API_VERSION,
  LABEL_ORGANIZATION,
  LABEL_OWNER,
  LABEL_TEMPLATE,
  type CoderWorkspace,
} from '../../api/aggregation/v1alpha1/types.ts';
import { workspaceObjectName } from '../../api/aggregation/v1alpha1/names.ts';
import type { Workspace, WorkspaceStatus } from '../../coder/types.ts';
import { workspaceConditions } from '../conditions.ts';
import { kubeTime } from '../time.ts';

const RUNNING_STATES: readonly WorkspaceStatus[] = ['pending', 'starting', 'running'];

/** `running` is true when the latest build starts the workspace and has not failed or been canceled. */
export function isRunning(w: Workspace): boolean {
  return w.latest_build.transition === 'start' && RUNNING_STATES.includes(w.latest_build.status);
}

export function toCoderWorkspace(namespace: string, w: Workspace): CoderWorkspace {
  const build = w.latest_build;
  const status: CoderWorkspaceStatus = {
    id: w.id,
    ownerName: w.owner_name,
    organizationName: w.organization_name,
    templateName: w.template_name,
    templateVersionID: build.template_version_id,
    latestBuildID: build.id,
    latestBuildStatus: build.status,
    latestBuildTransition: build.transition,
    outdated: w.outdated,
  };
  const deadline = build.transition === 'start' ? kubeTime(build.deadline) : undefined;
  if (deadline) status.autoShutdown = deadline;
  const lastUsed = kubeTime(w.last_used_at);
  if (lastUsed) status.lastUsedAt = lastUsed;
  status.conditions = workspaceConditions(build);

  const object: CoderWorkspace = {
    apiVersion: API_VERSION,
    kind: 'CoderWorkspace',
    metadata: {
      name: workspaceObjectName(w.organization_name, w.owner_name, w.name),
      namespace,
      uid: w.id,
      labels: {
        [LABEL_ORGANIZATION]: w.organization_name.toLowerCase(),
        [LABEL_OWNER]: w.owner_name.toLowerCase(),
        [LABEL_TEMPLATE]: w.template_name.toLowerCase(),
      },
    },
    spec: {
      organization: w.organization_name.toLowerCase(),
      templateName: w.template_name.toLowerCase(),
      templateVersionID: build.template_version_id,
      running: isRunning(w),
      ...(w.ttl_ms !== undefined ? { ttlMillis: w.ttl_ms } : {}),
      ...(w.autostart_schedule ? { autostartSchedule: w.autostart_schedule } : {}),
    },
    status,
  };
  const created = kubeTime(w.created_at);
  if (created) object.metadata.creationTimestamp = created;
  // A delete build in flight is Kubernetes' "being deleted".
  if (build.transition === 'delete' && build.status !== 'failed' && build.status !== 'canceled') {
    const since = kubeTime(build.created_at);
    if (since) object.metadata.deletionTimestamp = since;
  }
  return object;
}
