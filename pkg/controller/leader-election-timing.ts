// Leader election timing, apart from the elector: flag validation needs it without loading
// the Kubernetes client.

export interface LeaderElectionTiming {
  /** How long others wait, from when they saw the record last change, before taking the lease. */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leading. */
  renewDeadlineMs: number;
  /** How often the lease is tried (jittered up to 1.2× while acquiring). */
  retryPeriodMs: number;
}

/** Standbys' attempts are spread up to this factor of the retry period. */
export const JITTER = 1.2;

/** client-go's rule: renewals must be able to fail a few times before the lease could lapse. */
export function checkLeaderElectionTiming(t: LeaderElectionTiming): string | undefined {
  if (t.leaseDurationMs <= t.renewDeadlineMs) return '--leader-elect-lease-duration must be greater than --leader-elect-renew-deadline';
  if (t.renewDeadlineMs <= JITTER * t.retryPeriodMs) return '--leader-elect-renew-deadline must be greater than 1.2 × --leader-elect-retry-period';
  if (t.retryPeriodMs < 100) return '--leader-elect-retry-period must be at least 100ms';
  return undefined;
}
