import type { BuildState, Condition } from '../api/aggregation/v1alpha1/schema.ts';
import type { WorkspaceBuild } from '../coder/types.ts';
import { kubeTime } from './time.ts';

const EPOCH = '1970-01-01T00:00:00Z';

function condition(type: string, status: boolean, reason: string, message: string, at: string | undefined): Condition {
  return { type, status: status ? 'True' : 'False', reason, message, lastTransitionTime: at ?? EPOCH };
}

const camel = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

const IN_PROGRESS = new Set(['pending', 'starting', 'stopping', 'deleting', 'canceling']);

/**
 * Ready, Building and Failed from the latest build, so `kubectl wait --for=condition=Ready`
 * works. Coder keeps no transition history, so each condition's time is that of the build
 * that decides it: derived, hence the same on every read and every replica.
 */
export function workspaceConditions(build: WorkspaceBuild): Condition[] {
  const status = build.status;
  const finished = kubeTime(build.job.completed_at) ?? kubeTime(build.updated_at);
  const started = kubeTime(build.created_at);
  const building = IN_PROGRESS.has(status);
  const desired = build.transition === 'start' ? 'running' : build.transition === 'stop' ? 'stopped' : undefined;
  const ready = desired !== undefined && status === desired;
  const error = build.job.error ?? '';
  return [
    condition(
      'Ready',
      ready,
      ready ? camel(status) : building ? 'Building' : camel(status),
      ready
        ? `the latest ${build.transition} build succeeded`
        : building
          ? `a ${build.transition} build is ${status}`
          : `the latest ${build.transition} build is ${status}${error ? `: ${error}` : ''}`,
      building ? started : finished,
    ),
    condition('Building', building, building ? camel(status) : 'Idle', building ? `a ${build.transition} build is ${status}` : '', building ? started : finished),
    condition('Failed', status === 'failed', status === 'failed' ? 'BuildFailed' : 'NoFailure', status === 'failed' ? error || 'the build failed without an error message' : '', finished ?? started),
  ];
}

const versionActive = (b: BuildState): boolean => b.status === 'pending' || b.status === 'running';

/**
 * Ready from the active version's build; Building and Failed from the newest version, which
 * only GET reads (`latest` undefined: not known, so those two are left out).
 */
export function templateConditions(active: BuildState | undefined, latest: { build: BuildState | undefined } | undefined): Condition[] {
  const ready = active?.status === 'succeeded';
  const out = [
    condition(
      'Ready',
      ready,
      ready ? 'BuildSucceeded' : active ? `Build${camel(active.status)}` : 'NoActiveVersion',
      active ? `active version ${active.versionName ?? active.versionID} build ${active.status}` : 'the active version is unknown',
      active?.completedAt ?? active?.startedAt,
    ),
  ];
  if (!latest) return out;
  const newer = latest.build;
  const building = !!newer && versionActive(newer);
  const failed = !!newer && (newer.status === 'failed' || newer.status === 'canceled');
  out.push(
    condition(
      'Building',
      building,
      building ? 'NewerVersionBuilding' : 'Idle',
      building ? `version ${newer.versionName ?? newer.versionID} is ${newer.status}; it is promoted when it succeeds` : '',
      newer?.startedAt ?? active?.completedAt,
    ),
    condition(
      'Failed',
      failed,
      failed ? 'BuildFailed' : 'NoFailure',
      failed ? `version ${newer.versionName ?? newer.versionID} build ${newer.status}: ${newer.message ?? 'no error reported'}` : '',
      newer?.completedAt ?? active?.completedAt,
    ),
  );
  return out;
}
