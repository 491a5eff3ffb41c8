// Provisioner job logs shaped like a real Coder's (GET /templateversions/{id}/logs and
// /workspacebuilds/{id}/logs): the daemon's stage markers (log_source provisioner_daemon,
// empty output) and terraform's output lines (log_source provisioner). A failed job's
// error-level lines carry terraform's diagnostic, as `job.error` only names the step.
import type { ProvisionerJobLog, WorkspaceTransition } from '../../../pkg/coder/types.ts';
import type { JobRecord, PlannedFailure } from './state.ts';

export type LogLine = Omit<ProvisionerJobLog, 'id' | 'created_at'>;

const INIT = 'Initializing Terraform Directory';
const PLAN = 'Planning Infrastructure';
const APPLY_STAGE: Record<WorkspaceTransition, string> = { start: 'Starting workspace', stop: 'Stopping workspace', delete: 'Destroying workspace' };

function stage(name: string): LogLine {
  return { log_source: 'provisioner_daemon', log_level: 'info', stage: name, output: '' };
}

function tf(stageName: string, output: string, level: LogLine['log_level'] = 'info'): LogLine {
  return { log_source: 'provisioner', log_level: level, stage: stageName, output };
}

/** Terraform's diagnostic: `Error: <summary>`, where, the source line, then an explanation. */
function diagnostic(stageName: string, summary: string, failure: PlannedFailure | null, explanation: string[]): LogLine[] {
  const lines = [tf(stageName, `Error: ${summary}`, 'error')];
  const source = failure?.source;
  if (source) {
    lines.push(tf(stageName, `  on ${source.file} line ${String(source.lineNo)}:`, 'error'));
    lines.push(tf(stageName, `${String(source.lineNo).padStart(4)}: ${source.line}`, 'error'));
  }
  for (const text of explanation) lines.push(tf(stageName, text, 'error'));
  return lines;
}

/** Written when a daemon picks the job up. */
export function startLogs(): LogLine[] {
  return [stage('Setting up'), tf(INIT, 'Initializing the backend...')];
}

const INIT_DONE = ['Initializing provider plugins...', 'Terraform has been successfully initialized!'];

/**
 * Written when the job ends. `error` is the job's final error ('' on success); `canceled`
 * says the job was canceled while running.
 */
export function endLogs(job: JobRecord, transition: WorkspaceTransition | null, error: string, canceled: boolean): LogLine[] {
  const failure = job.planned_failure;
  if (job.type === 'template_version_import') {
    if (error !== '' && failure?.source && error === failure.error) {
      // The marker stands for a template terraform cannot even initialise.
      return [
        tf(INIT, 'Terraform encountered problems during initialisation, including problems', 'error'),
        tf(INIT, 'with the configuration, described below.', 'error'),
        ...diagnostic(INIT, 'Invalid configuration', failure, [`The fake Coder fails the import of a template containing "coder-fake:fail".`]),
        stage('Cleaning Up'),
      ];
    }
    if (error !== '') return [...diagnostic(INIT, error, null, []), stage('Cleaning Up')];
    return [
      ...INIT_DONE.map((line) => tf(INIT, line)),
      stage('Parsing template parameters'),
      stage('Detecting persistent resources'),
      tf('Detecting persistent resources', 'Terraform 1.5.7'),
      tf('Detecting persistent resources', 'Plan: 0 to add, 0 to change, 0 to destroy.'),
      stage('Detecting ephemeral resources'),
      tf('Detecting ephemeral resources', 'Terraform 1.5.7'),
      tf('Detecting ephemeral resources', 'Plan: 0 to add, 0 to change, 0 to destroy.'),
      stage('Cleaning Up'),
    ];
  }
  const apply = APPLY_STAGE[transition ?? 'start'];
  const lines = [
    ...INIT_DONE.map((line) => tf(INIT, line)),
    tf(PLAN, 'Terraform 1.5.7'),
    tf(PLAN, 'Plan: 0 to add, 0 to change, 0 to destroy.'),
    stage(apply),
    tf(apply, 'Terraform 1.5.7'),
  ];
  if (canceled) lines.push(...diagnostic(apply, 'execution halted', null, []));
  else if (error !== '' && failure?.source && error === failure.error) {
    lines.push(...diagnostic(apply, 'Build failed', failure, [`The fake Coder fails every build of a template containing "coder-fake:fail-build".`]));
  } else if (error !== '') lines.push(...diagnostic(apply, error, null, []));
  else lines.push(tf(apply, 'Apply complete! Resources: 0 added, 0 changed, 0 destroyed.'), tf(apply, 'Outputs: 0'));
  lines.push(stage('Cleaning Up'));
  return lines;
}
