// The fake provisioner: every queued job goes pending → running → done on
// timers, so clients must poll exactly as they would against real coderd.
// Jobs run in parallel (an unlimited pool of provisioners), queue_position stays 0.
import type { JobControl, JobFailRule } from './knobs.ts';
import { jobStatus, now } from './state.ts';
import type { JobRecord, State } from './state.ts';

/** Time each job spends in each phase. */
export interface BuildTimings {
  pendingMs: number;
  runningMs: number;
}

export const DEFAULT_TIMINGS: BuildTimings = { pendingMs: 50, runningMs: 150 };

interface CountedFailure {
  rule: JobFailRule;
  remaining: number;
}

export class JobRunner implements JobControl {
  private readonly state: State;
  private readonly timings: BuildTimings;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private failures: CountedFailure[] = [];
  private held = false;
  private closed = false;

  constructor(state: State, timings: BuildTimings) {
    this.state = state;
    this.timings = timings;
  }

  get paused(): boolean {
    return this.held;
  }

  /** Starts moving a freshly created job. */
  enqueue(job: JobRecord): void {
    this.schedule(job);
  }

  pause(): void {
    this.held = true;
    this.clearTimers();
  }

  /** Restarts the current phase of every unfinished job. */
  resume(): void {
    if (!this.held) return;
    this.held = false;
    for (const job of this.state.jobs.values()) {
      if (job.completed_at === null) this.schedule(job);
    }
  }

  failNext(rule: JobFailRule): void {
    this.failures.push({ rule, remaining: rule.times ?? 1 });
  }

  clearFailures(): void {
    this.failures = [];
  }

  /** Forgets timers of jobs that no longer exist (after a state reset). */
  clearTimers(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  close(): void {
    this.closed = true;
    this.clearTimers();
  }

  private schedule(job: JobRecord): void {
    if (this.held || this.closed || this.timers.has(job.id)) return;
    const delay = job.started_at === null ? this.timings.pendingMs : this.timings.runningMs;
    const timer = setTimeout(() => {
      this.timers.delete(job.id);
      this.advance(job.id);
    }, delay);
    // Tests that forget close() must not hang on a pending job.
    timer.unref();
    this.timers.set(job.id, timer);
  }

  private advance(jobId: string): void {
    const job = this.state.jobs.get(jobId);
    if (!job || job.completed_at !== null || this.held || this.closed) return;
    if (job.started_at === null) {
      job.started_at = now();
      job.updated_at = job.started_at;
      this.schedule(job);
      return;
    }
    this.complete(job);
  }

  private complete(job: JobRecord): void {
    const t = now();
    job.completed_at = t;
    job.updated_at = t;
    job.error = this.injectedError(job) ?? job.planned_error ?? '';
    if (job.type === 'workspace_build') this.finishBuild(job, t);
  }

  private injectedError(job: JobRecord): string | null {
    const transition = job.build_id ? this.state.builds.get(job.build_id)?.transition : undefined;
    const index = this.failures.findIndex(
      ({ rule }) => (rule.type === undefined || rule.type === job.type) && (rule.transition === undefined || rule.transition === transition),
    );
    const failure = this.failures[index];
    if (!failure) return null;
    failure.remaining -= 1;
    if (failure.remaining <= 0) this.failures.splice(index, 1);
    return failure.rule.error ?? `coder-fake: injected failure of ${job.type}${transition ? ` (${transition})` : ''}`;
  }

  /** What provisionerdserver does when a build job completes. */
  private finishBuild(job: JobRecord, t: string): void {
    const build = job.build_id ? this.state.builds.get(job.build_id) : undefined;
    if (!build) return;
    build.updated_at = t;
    const workspace = this.state.workspaces.get(build.workspace_id);
    if (!workspace || jobStatus(job) !== 'succeeded') return;
    if (build.transition === 'start') {
      const template = this.state.templates.get(workspace.template_id);
      const ttl = template && !template.allow_user_autostop ? template.default_ttl_ms : (workspace.ttl_ms ?? 0);
      build.deadline = ttl > 0 ? new Date(Date.parse(t) + ttl).toISOString() : null;
    }
    if (build.transition === 'delete') {
      workspace.deleted = true;
      workspace.updated_at = t;
    }
  }
}
