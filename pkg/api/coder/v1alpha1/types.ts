import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { CoderControlPlaneSpec, CoderControlPlaneStatus, Condition } from './schema.ts';

/** Metadata of objects read from the cluster: name and namespace are always set there. */
export type ObjectMeta = V1ObjectMeta & { name: string; namespace: string };

export interface CoderControlPlane {
  apiVersion: 'coder.com/v1alpha1';
  kind: 'CoderControlPlane';
  metadata: ObjectMeta;
  spec: CoderControlPlaneSpec;
  status?: CoderControlPlaneStatus;
}

export type { Condition };

export const CONDITION_READY = 'Ready';
export const CONDITION_OPERATOR_ACCESS_READY = 'OperatorAccessReady';
export const CONDITION_ELIGIBLE = 'Eligible';
export const CONDITION_LICENSE_APPLIED = 'LicenseApplied';

export const DEFAULT_TOKEN_KEY = 'token';
