// Test-controlled misbehaviour: latency, injected errors, rate limiting and
// control over provisioner jobs. Every knob is one-shot or explicit, so a test
// that does not touch knobs sees a well-behaved coderd.
import type { CoderResponse, WorkspaceTransition } from '../../../pkg/coder/types.ts';
import type { JobType } from './state.ts';

/** Selects requests. `path` is compared with the raw path and the route template; a RegExp is tested on the raw path. */
export interface RequestMatcher {
  method?: string;
  path?: string | RegExp;
}

export interface FailRule extends RequestMatcher {
  status: number;
  /** JSON envelope, or a string sent as text/plain (a proxy error page, say). Default: a message for the status. */
  body?: CoderResponse | string;
  headers?: Record<string, string>;
  /** How many matching requests fail (default 1). */
  times?: number;
}

export interface JobFailRule {
  type?: JobType;
  /** Only workspace builds with this transition. */
  transition?: WorkspaceTransition;
  /** `job.error` text (default: a message naming the job type). */
  error?: string;
  /** How many matching jobs fail (default 1). */
  times?: number;
}

export interface RateLimitHit {
  limit: number;
  retryAfterSeconds: number;
}

/** What the knobs need from the job runner. */
export interface JobControl {
  readonly paused: boolean;
  pause(): void;
  resume(): void;
  failNext(rule: JobFailRule): void;
  clearFailures(): void;
}

interface Counted<T> {
  rule: T;
  remaining: number;
}

interface RateLimitRule extends RequestMatcher {
  limit: number;
  retryAfterSeconds: number;
}

export class Knobs {
  /** Latency added to every request, in milliseconds. */
  latencyMs = 0;
  /** Extra latency per route key (`"GET /api/v2/workspaces"`), added to `latencyMs`. */
  readonly routeLatencyMs = new Map<string, number>();
  private failures: Counted<FailRule>[] = [];
  private rateLimits: Counted<RateLimitRule>[] = [];
  private readonly jobs: JobControl;

  constructor(jobs: JobControl) {
    this.jobs = jobs;
  }

  /** Fails the next matching request(s) with `status` (before authentication, like a proxy or coderd middleware). */
  failNext(rule: FailRule): void {
    this.failures.push({ rule, remaining: rule.times ?? 1 });
  }

  /**
   * Answers the next `n` matching requests with coderd's 429 (`Retry-After`,
   * `X-RateLimit-*`). `limit` is the N in the message (default 512, the deployment limit).
   */
  rateLimitNext(n: number, retryAfterSeconds = 60, match: RequestMatcher & { limit?: number } = {}): void {
    this.rateLimits.push({ rule: { ...match, limit: match.limit ?? 512, retryAfterSeconds }, remaining: n });
  }

  /** Fails the next matching provisioner job(s) when they complete. */
  failNextJobs(rule: JobFailRule = {}): void {
    this.jobs.failNext(rule);
  }

  /** Holds every job where it is (pending stays pending, running stays running). */
  pauseJobs(): void {
    this.jobs.pause();
  }

  resumeJobs(): void {
    this.jobs.resume();
  }

  get jobsPaused(): boolean {
    return this.jobs.paused;
  }

  /** Clears every knob and resumes jobs. */
  reset(): void {
    this.latencyMs = 0;
    this.routeLatencyMs.clear();
    this.failures = [];
    this.rateLimits = [];
    this.jobs.clearFailures();
    this.jobs.resume();
  }

  /** @internal */
  latencyFor(routeKey: string | null): number {
    return this.latencyMs + (routeKey === null ? 0 : (this.routeLatencyMs.get(routeKey) ?? 0));
  }

  /** @internal */
  takeRateLimit(method: string, path: string, route: string | null): RateLimitHit | null {
    const hit = take(this.rateLimits, method, path, route);
    return hit ? { limit: hit.limit, retryAfterSeconds: hit.retryAfterSeconds } : null;
  }

  /** @internal */
  takeFailure(method: string, path: string, route: string | null): FailRule | null {
    return take(this.failures, method, path, route);
  }
}

function matches(rule: RequestMatcher, method: string, path: string, route: string | null): boolean {
  if (rule.method !== undefined && rule.method.toUpperCase() !== method) return false;
  if (rule.path === undefined) return true;
  if (typeof rule.path === 'string') return rule.path === path || rule.path === route;
  return rule.path.test(path);
}

function take<T extends RequestMatcher>(rules: Counted<T>[], method: string, path: string, route: string | null): T | null {
  const index = rules.findIndex((c) => c.remaining > 0 && matches(c.rule, method, path, route));
  const counted = rules[index];
  if (!counted) return null;
  counted.remaining -= 1;
  if (counted.remaining <= 0) rules.splice(index, 1);
  return counted.rule;
}
