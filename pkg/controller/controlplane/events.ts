import { API_VERSION } from '../../api/coder/v1alpha1/resources.ts';
import type { CoderControlPlaneStatus } from '../../api/coder/v1alpha1/schema.ts';
import {
  CONDITION_ELIGIBLE,
  CONDITION_LICENSE_APPLIED,
  CONDITION_OPERATOR_ACCESS_READY,
  CONDITION_READY,
  type CoderControlPlane,
} from '../../api/coder/v1alpha1/types.ts';
import { isCoderApiError } from '../../coder/errors.ts';
import { describeKubeError, isConflict } from '../../kube/errors.ts';
import type { EventRecorder, EventType } from '../../kube/events.ts';

/** A token the bootstrap created in this pass. */
export interface TokenIssue {
  /** A previous token was replaced (near its expiry, or refused by Coder). */
  renewed: boolean;
  why: string;
  secretName: string;
  username: string;
  expiresAt: string;
}

/** Condition reasons that are a state, not a problem: no Warning when a condition enters them. */
const QUIET_REASONS = new Set(['Disabled', 'NotConfigured']);

/**
 * The Kubernetes Events of a CoderControlPlane: one per step a human cares about, emitted
 * when it happens — an action (token issued, license uploaded, first user created) — or on
 * a transition persisted in status (deployed a new generation, eligibility changed, a
 * condition turned into a failure), never on every pass. A failed pass is recorded each
 * time; the recorder folds repeats into a series. Notes never carry secrets: they are
 * built from condition messages and errors, and anything shaped like a Coder API token is
 * masked.
 */
export class ControlPlaneEvents {
  readonly #recorder: EventRecorder | undefined;

  constructor(recorder: EventRecorder | undefined) {
    this.#recorder = recorder;
  }

  /** The coderd objects were applied for a generation not applied before. */
  deployed(ccp: CoderControlPlane, applied: readonly string[]): void {
    const generation = ccp.metadata.generation === undefined ? '' : ` (generation ${ccp.metadata.generation})`;
    this.#emit(ccp, 'Normal', 'Deployed', 'Apply', `applied ${applied.join(', ')}${generation}`);
  }

  firstUserCreated(ccp: CoderControlPlane, username: string, secretName: string): void {
    this.#emit(ccp, 'Normal', 'FirstUserCreated', 'Bootstrap', `created Coder's first user "${username}"; its credentials are in Secret "${secretName}"`);
  }

  tokenIssued(ccp: CoderControlPlane, issue: TokenIssue): void {
    const what = `created an API token for Coder user "${issue.username}", valid until ${issue.expiresAt}, in Secret "${issue.secretName}"`;
    if (issue.renewed) this.#emit(ccp, 'Normal', 'TokenRenewed', 'RenewToken', `${issue.why}: ${what}`);
    else this.#emit(ccp, 'Normal', 'TokenBootstrapped', 'Bootstrap', what);
  }

  licenseApplied(ccp: CoderControlPlane, tier: string | undefined): void {
    const secret = ccp.spec.licenseSecretRef?.name ?? '';
    this.#emit(ccp, 'Normal', 'LicenseApplied', 'ApplyLicense', `uploaded the license in Secret "${secret}" to Coder${tier ? `; tier ${tier}` : ''}`);
  }

  /**
   * After a status write: the transitions it persisted. Called only once the write
   * succeeded, so a pass that lost a conflict (and runs again) reports nothing twice.
   */
  statusWritten(ccp: CoderControlPlane, before: CoderControlPlaneStatus, after: CoderControlPlaneStatus, applied: readonly string[] | undefined): void {
    if (applied && before.observedGeneration !== after.observedGeneration) this.deployed(ccp, applied);
    const find = (s: CoderControlPlaneStatus, type: string) => s.conditions?.find((c) => c.type === type);
    for (const type of [CONDITION_OPERATOR_ACCESS_READY, CONDITION_READY, CONDITION_LICENSE_APPLIED, CONDITION_ELIGIBLE]) {
      const was = find(before, type);
      const now = find(after, type);
      if (!now || (was?.status === now.status && was.reason === now.reason)) continue;
      if (type === CONDITION_ELIGIBLE) {
        const lost = was?.status === 'True' || now.reason === 'Conflict' || now.reason === 'InvalidName';
        const note = now.status === 'True' ? `eligible: ${now.message}` : `not eligible (${now.reason}): ${now.message}`;
        this.#emit(ccp, now.status !== 'True' && lost ? 'Warning' : 'Normal', 'EligibilityChanged', 'Evaluate', note);
        continue;
      }
      if (now.status === 'True' || QUIET_REASONS.has(now.reason)) continue;
      // A Coder without licensing is news only to someone who asked for a license.
      if (now.reason === 'LicensingNotSupported' && !ccp.spec.licenseSecretRef) continue;
      // Ready's other reasons repeat what OperatorAccessReady says, or are a rollout in progress.
      if (type === CONDITION_READY && now.reason !== 'ExposureFailed') continue;
      this.#emit(ccp, 'Warning', now.reason, 'Reconcile', now.message);
    }
  }

  reconcileFailed(ccp: CoderControlPlane, err: unknown): void {
    // A write from a stale cache (409 Conflict) is retried at once with the newer object:
    // the way optimistic concurrency works, nothing for a human to act on.
    if (isStaleWrite(err)) return;
    const message = isCoderApiError(err) ? err.describe() : describeKubeError(err);
    this.#emit(ccp, 'Warning', 'ReconcileError', 'Reconcile', message);
  }

  #emit(ccp: CoderControlPlane, type: EventType, reason: string, action: string, note: string): void {
    this.#recorder?.event(
      { apiVersion: API_VERSION, kind: 'CoderControlPlane', namespace: ccp.metadata.namespace, name: ccp.metadata.name, ...(ccp.metadata.uid ? { uid: ccp.metadata.uid } : {}) },
      type,
      reason,
      action,
      maskTokens(note),
    );
  }
}

function isStaleWrite(err: unknown): boolean {
  if (!isConflict(err)) return false;
  const body: unknown = (err as { body?: unknown }).body;
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { reason?: unknown } | null;
    return status?.reason === 'Conflict';
  } catch {
    return false;
  }
}

/** Coder API keys are `<10-character id>-<22-character secret>`; none should reach an event. */
const CODER_API_KEY = /\b[0-9A-Za-z]{10}-[0-9A-Za-z]{22}\b/g;

export function maskTokens(text: string): string {
  return text.replace(CODER_API_KEY, '[REDACTED]');
}
