import { describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import type { CoderControlPlaneStatus } from '../../api/coder/v1alpha1/schema.ts';
import type { CoderControlPlane } from '../../api/coder/v1alpha1/types.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { ControlPlaneEvents, maskTokens } from './events.ts';

const ccp: CoderControlPlane = {
  apiVersion: 'coder.com/v1alpha1',
  kind: 'CoderControlPlane',
  metadata: { name: 'coder', namespace: 'team-a', uid: 'u-1', generation: 2 },
  spec: { licenseSecretRef: { name: 'coder-license' } },
};

function capture(): { events: ControlPlaneEvents; recorded: string[] } {
  const recorded: string[] = [];
  const recorder = {
    event: (_regarding: unknown, type: string, reason: string, _action: string, note: string) => recorded.push(`${type} ${reason}: ${note}`),
  } as unknown as EventRecorder;
  return { events: new ControlPlaneEvents(recorder), recorded };
}

function status(observedGeneration: number, conditions: [string, string, string][]): CoderControlPlaneStatus {
  return {
    observedGeneration,
    conditions: conditions.map(([type, s, reason]) => ({ type, status: s as 'True', reason, message: `${type} is ${reason}`, lastTransitionTime: '2026-01-01T00:00:00Z' })),
  };
}

describe('ControlPlaneEvents', () => {
  it('reports a new generation deployed, and the transitions a status write persisted', () => {
    const { events, recorded } = capture();
    events.statusWritten(
      ccp,
      status(1, [['OperatorAccessReady', 'True', 'TokenValid'], ['Eligible', 'True', 'Eligible']]),
      status(2, [['OperatorAccessReady', 'False', 'TokenRejected'], ['Ready', 'False', 'ExposureFailed'], ['Eligible', 'False', 'OperatorAccessNotReady']]),
      ['Deployment "coder"', 'Service "coder"'],
    );
    expect(recorded).toEqual([
      'Normal Deployed: applied Deployment "coder", Service "coder" (generation 2)',
      'Warning TokenRejected: OperatorAccessReady is TokenRejected',
      'Warning ExposureFailed: Ready is ExposureFailed',
      'Warning EligibilityChanged: not eligible (OperatorAccessNotReady): Eligible is OperatorAccessNotReady',
    ]);
  });

  it('says nothing when nothing moved (a pass that rewrote the same conditions)', () => {
    const { events, recorded } = capture();
    const same = status(2, [['OperatorAccessReady', 'False', 'CoderUnreachable'], ['Ready', 'False', 'DeploymentNotReady'], ['Eligible', 'False', 'OperatorAccessNotReady']]);
    events.statusWritten(ccp, same, { ...same, readyReplicas: 1 }, ['Deployment "coder"']);
    expect(recorded).toEqual([]);
  });

  it('is quiet about states that are no problem, and about external control planes deployed', () => {
    const { events, recorded } = capture();
    events.statusWritten(
      ccp,
      {},
      status(2, [['OperatorAccessReady', 'False', 'Disabled'], ['Ready', 'False', 'DeploymentNotReady'], ['LicenseApplied', 'False', 'NotConfigured'], ['Eligible', 'False', 'NoOperatorToken']]),
      undefined,
    );
    // A control plane on its way to eligibility: Normal, not a Warning.
    expect(recorded).toEqual(['Normal EligibilityChanged: not eligible (NoOperatorToken): Eligible is NoOperatorToken']);
  });

  it('warns about a Coder without licensing only when a license was asked for', () => {
    const { events, recorded } = capture();
    const agpl = status(2, [['LicenseApplied', 'False', 'LicensingNotSupported']]);
    events.statusWritten({ ...ccp, spec: {} }, {}, agpl, undefined);
    expect(recorded).toEqual([]);
    events.statusWritten(ccp, {}, agpl, undefined);
    expect(recorded).toEqual(['Warning LicensingNotSupported: LicenseApplied is LicensingNotSupported']);
  });

  it('names bootstrapped and renewed tokens apart, and masks anything shaped like a Coder token', () => {
    const { events, recorded } = capture();
    events.tokenIssued(ccp, { renewed: false, why: '', secretName: 'coder-operator-token', username: 'coder-k8s-operator', expiresAt: '2027-01-01T00:00:00Z' });
    events.tokenIssued(ccp, { renewed: true, why: 'the previous token was near its expiry', secretName: 'coder-operator-token', username: 'coder-k8s-operator', expiresAt: '2027-01-01T00:00:00Z' });
    events.reconcileFailed(ccp, new Error('Coder said: bad key abcdefghij-0123456789ABCDEFGHIJKL'));
    expect(recorded).toEqual([
      'Normal TokenBootstrapped: created an API token for Coder user "coder-k8s-operator", valid until 2027-01-01T00:00:00Z, in Secret "coder-operator-token"',
      'Normal TokenRenewed: the previous token was near its expiry: created an API token for Coder user "coder-k8s-operator", valid until 2027-01-01T00:00:00Z, in Secret "coder-operator-token"',
      'Warning ReconcileError: Coder said: bad key [REDACTED]',
    ]);
    // A write from a stale cache is retried with the newer object: no Warning for that.
    events.reconcileFailed(ccp, new ApiException(409, 'conflict', { kind: 'Status', reason: 'Conflict', message: 'the object has been modified' }, {}));
    expect(recorded).toHaveLength(3);
    events.reconcileFailed(ccp, new ApiException(409, 'exists', JSON.stringify({ kind: 'Status', reason: 'AlreadyExists', message: 'already exists' }), {}));
    expect(recorded.at(-1)).toBe('Warning ReconcileError: HTTP 409: already exists');
    // UUIDs (Coder IDs) are not tokens.
    expect(maskTokens('workspace 3f2c1a9e-8b7d-4c6e-9f10-1234567890ab')).toBe('workspace 3f2c1a9e-8b7d-4c6e-9f10-1234567890ab');
  });
});
