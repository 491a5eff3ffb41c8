// The fake provisioner: every queued job goes pending → running → done on
// timers, so clients must poll exactly as they would against real coderd.
// By default the pool of provisioner daemons is unlimited (queue_position stays 0);
// with `daemons` set, extra jobs wait pending in a queue (queue_position 1, 2, ...).
import type { JobControl, JobFailRule } from './knobs.ts';
import { endLogs, startLogs } from './logs.ts';
import { jobStatus, now } from './state.ts';
import type { JobRecord, State } from './state.ts';
import { BUILD_ERROR } from './tar.ts';

/** Time each job spends in each phase. */
export interface BuildTimings {
  pendingMs: number;
  runningMs: number;
}

export const DEFAULT_TIMINGS: BuildTimings = { pendingMs: 50, runningMs: 150 };

/** How long a build of a `coder-fake:slow-build` template runs (unless canceled). */
const SLOW_RUNNING_MS = 60_000;

/** How long a running job that was canceled stays `canceling` (terraform being interrupted). */
const INTERRUPT_MS = 50;

interface CountedFailure {
  rule: JobFailRule;
  remaining: number;
}

export class JobRunner implements JobControl {
  private readonly state: State;
  private readonly timings: BuildTimings;
  /** Concurrent jobs (provisioner daemons); Infinity = never queue. */
  readonly daemons: number;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Jobs holding a daemon: picked up (pending, then running) and not completed. */
  private readonly busy = new Set<string>();
  private failures: CountedFailure[] = [];
  private held = false;
  private closed = false;

  constructor(state: State, timings: BuildTimings, daemons = Infinity) {
    this.state = state;
    this.timings = timings;
    this.daemons = daemons;
  }

  get paused(): boolean {
    return this.held;
  }

  /** Starts moving a freshly created job (it waits in the queue while every daemon is busy). */
  enqueue(job: JobRecord): void {
    this.state.jobQueue.push(job.id);
    this.pump();
  }

  pause(): void {
    this.held = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Restarts the current phase of every job holding a daemon, then hands free daemons to queued jobs. */
  resume(): void {
    if (!this.held) return;
    this.held = false;
    for (const id of this.busy) {
      const job = this.state.jobs.get(id);
      if (job && job.completed_at === null) this.schedule(job);
    }
    this.pump();
  }

  failNext(rule: JobFailRule): void {
    this.failures.push({ rule, remaining: rule.times ?? 1 });
  }

  clearFailures(): void {
    this.failures = [];
  }

  /** Forgets timers and daemons of jobs that no longer exist (after a state reset). */
  clearTimers(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.busy.clear();
  }

  close(): void {
    this.closed = true;
    this.clearTimers();
  }

  /**
   * coderd's cancel: a job no daemon has started is canceled at once (canceled_at =
   * completed_at); a running one is `canceling` briefly (the daemon interrupts terraform),
   * then a workspace build fails (`terraform apply: exit status 1`) and an import ends canceled.
   */
  cancel(job: JobRecord): void {
    const t = now();
    job.canceled_at = t;
    job.updated_at = t;
    if (job.started_at !== null) {
      const running = this.timers.get(job.id);
      if (running) clearTimeout(running);
      this.timers.delete(job.id);
      this.schedule(job, Math.min(this.timings.runningMs, INTERRUPT_MS));
      return;
    }
    const queued = this.state.jobQueue.indexOf(job.id);
    if (queued >= 0) this.state.jobQueue.splice(queued, 1);
    const timer = this.timers.get(job.id);
    if (timer) clearTimeout(timer);
    this.timers.delete(job.id);
    job.completed_at = t;
    if (job.type === 'workspace_build') this.finishBuild(job, t);
    if (this.busy.delete(job.id)) this.pump();
  }

  /** Hands free daemons to the oldest queued jobs. */
  private pump(): void {
    if (this.closed) return;
    while (this.busy.size < this.daemons) {
      const id = this.state.jobQueue.shift();
      if (id === undefined) return;
      const job = this.state.jobs.get(id);
      if (!job || job.completed_at !== null) continue;
      this.busy.add(id);
      this.schedule(job);
    }
  }

  private schedule(job: JobRecord, delayMs?: number): void {
    if (this.held || this.closed || this.timers.has(job.id)) return;
    const running = job.slow ? SLOW_RUNNING_MS : this.timings.runningMs;
    const delay = delayMs ?? (job.started_at === null ? this.timings.pendingMs : running);
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
      this.state.appendLogs(job.id, startLogs());
      this.schedule(job);
      return;
    }
    this.complete(job);
  }

  private complete(job: JobRecord): void {
    const t = now();
    const canceled = job.canceled_at !== null;
    job.completed_at = t;
    job.updated_at = t;
    if (canceled) job.error = job.type === 'workspace_build' ? BUILD_ERROR : '';
    else job.error = this.injectedError(job) ?? job.planned_failure?.error ?? '';
    const build = job.build_id ? this.state.builds.get(job.build_id) : undefined;
    this.state.appendLogs(job.id, endLogs(job, build?.transition ?? null, job.error, canceled));
    if (job.type === 'workspace_build') this.finishBuild(job, t);
    else if (job.version_id) {
      const version = this.state.versions.get(job.version_id);
      if (version) version.updated_at = t;
    }
    this.busy.delete(job.id);
    this.pump();
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
