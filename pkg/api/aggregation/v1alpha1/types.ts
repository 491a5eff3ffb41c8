import type { KubeObject } from '../../meta/types.ts';
import type { CoderTemplateSpec, CoderTemplateStatus, CoderWorkspaceSpec, CoderWorkspaceStatus } from './schema.ts';

export const GROUP = 'aggregation.coder.com';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export interface CoderTemplate extends KubeObject {
  spec: CoderTemplateSpec;
  status?: CoderTemplateStatus;
}

export interface CoderWorkspace extends KubeObject {
  spec: CoderWorkspaceSpec;
  status?: CoderWorkspaceStatus;
}

/** Labels computed from Coder fields so label selectors can filter on them. */
export const LABEL_ORGANIZATION = `${GROUP}/organization`;
export const LABEL_TEMPLATE = `${GROUP}/template`;
export const LABEL_OWNER = `${GROUP}/owner`;
