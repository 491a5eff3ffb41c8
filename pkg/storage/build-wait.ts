import { setTimeout as sleep } from 'node:timers/promises';
import type { CoderClient } from '../coder/client.ts';
import { isCoderApiError } from '../coder/errors.ts';
import { ACTIVE_JOB_STATUSES, type ProvisionerJob, type TemplateVersion, type WorkspaceBuild } from '../coder/types.ts';

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Keep polling through transient Coder failures (background waits that outlive blips). */
  tolerateErrors?: boolean;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

function isTransient(err: unknown): boolean {
  return isCoderApiError(err) && (err.statusCode === 0 || err.statusCode === 429 || err.statusCode >= 500);
}

export function isJobActive(resource: { job: ProvisionerJob }): boolean {
  return ACTIVE_JOB_STATUSES.includes(resource.job.status);
}

/**
 * Re-fetches a Coder job-bearing resource with exponential backoff until its job finishes
 * or the deadline passes; returns the last state seen, finished or not.
 */
async function waitForJob<R extends { id: string; job: ProvisionerJob }>(
  initial: R,
  fetch: (id: string) => Promise<R>,
  options: WaitOptions,
): Promise<R> {
  const deadline = Date.now() + options.timeoutMs;
  let delay = options.initialDelayMs ?? 100;
  let current = initial;
  while (isJobActive(current)) {
    const remaining = deadline - Date.now();
    if (remaining <= 0 || options.signal?.aborted) return current;
    await sleep(Math.min(delay, remaining), undefined, { signal: options.signal }).catch(() => undefined);
    if (options.signal?.aborted) return current;
    delay = Math.min(delay * 1.6, options.maxDelayMs ?? 2000);
    try {
      current = await fetch(current.id);
    } catch (err) {
      if (!options.tolerateErrors || !isTransient(err)) throw err;
    }
  }
  return current;
}

/** A client, or where to get the current one on every poll (long waits outlive client replacements). */
export type CoderSource = CoderClient | (() => CoderClient);

const clientOf = (source: CoderSource): CoderClient => (typeof source === 'function' ? source() : source);

export function waitForTemplateVersion(coder: CoderSource, version: TemplateVersion, options: WaitOptions): Promise<TemplateVersion> {
  return waitForJob(version, (id) => clientOf(coder).getTemplateVersion(id), options);
}

export function waitForWorkspaceBuild(coder: CoderSource, build: WorkspaceBuild, options: WaitOptions): Promise<WorkspaceBuild> {
  return waitForJob(build, (id) => clientOf(coder).getWorkspaceBuild(id), options);
}
