// What template versions and workspace builds share about their provisioner job: its log
// (GET .../logs) and cancelling it (PATCH .../cancel), as coderd answers them.
import { ApiError, badRequest } from '../errors.ts';
import type { Reply, Req } from '../server.ts';
import type { ProvisionerJobLog } from '../../../../pkg/coder/types.ts';
import { endLogs, startLogs } from '../logs.ts';
import { jobStatus } from '../state.ts';
import type { JobRecord, State } from '../state.ts';

/**
 * A job's log. Seeded jobs finished without running (thousands of them in benchmarks): theirs is
 * written when first asked for, as a job that ran would have left it.
 */
function logsOf(state: State, job: JobRecord): ProvisionerJobLog[] {
  const logs = state.jobLogs.get(job.id);
  if (logs) return logs;
  if (job.completed_at === null || job.started_at === null) return [];
  const transition = job.build_id ? (state.builds.get(job.build_id)?.transition ?? null) : null;
  state.appendLogs(job.id, [...startLogs(), ...endLogs(job, transition, job.error, false)]);
  return state.jobLogs.get(job.id) ?? [];
}

/** The job's log lines with an ID above `?after=` (coderd ignores `before` unless following, which the fake does not do). */
export function jobLogs(req: Req, job: JobRecord): Reply {
  const raw = req.query.get('after');
  let after = 0;
  if (raw !== null && raw !== '') {
    if (!/^[+-]?\d+$/.test(raw)) {
      throw badRequest('Query param "after" must be an integer.', [{ field: 'after', detail: 'Must be an integer' }]);
    }
    after = Number(raw);
  }
  return { status: 200, json: logsOf(req.app.state, job).filter((l) => l.id > after) };
}

/** coderd's checks, in its order, then the cancel itself (see JobRunner.cancel). */
export function cancelJob(req: Req, job: JobRecord): Reply {
  const expect = req.query.get('expect_status') ?? '';
  if (expect !== '' && expect !== 'running' && expect !== 'pending') {
    throw badRequest(`Invalid expect_status "${expect}". Only 'running' or 'pending' are allowed.`);
  }
  if (job.completed_at !== null) throw badRequest('Job has already completed!');
  if (job.canceled_at !== null) throw badRequest('Job has already been marked as canceled!');
  if (expect !== '' && jobStatus(job) !== expect) throw new ApiError(412, 'Job is not in the expected state.');
  req.app.jobs.cancel(job);
  return { status: 200, json: { message: 'Job has been marked as canceled...' } };
}
