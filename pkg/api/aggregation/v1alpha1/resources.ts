import type { TSchema } from '@sinclair/typebox';
import type { ResourceRef } from '../../meta/status-error.ts';
import { CoderTemplateSpec, CoderTemplateStatus, CoderWorkspaceSpec, CoderWorkspaceStatus } from './schema.ts';
import { GROUP, VERSION } from './types.ts';

export const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] as const;
export type Verb = (typeof VERBS)[number] | 'deletecollection';

/** Static facts about one served resource: discovery, OpenAPI and validation read these. */
export interface ResourceInfo {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly verbs: readonly Verb[];
  readonly description: string;
  readonly spec: TSchema;
  readonly status: TSchema;
  /** Maps that server-side apply replaces whole (x-kubernetes-map-type: atomic). */
  readonly atomicMaps?: readonly string[][];
}

export const CODER_TEMPLATE: ResourceInfo = {
  group: GROUP,
  version: VERSION,
  kind: 'CoderTemplate',
  listKind: 'CoderTemplateList',
  plural: 'codertemplates',
  singular: 'codertemplate',
  shortNames: ['ctpl'],
  categories: ['coder'],
  verbs: VERBS,
  description:
    'A Coder template, viewed through Kubernetes. metadata.name is <organization>.<template>; ' +
    'the namespace selects the Coder deployment.',
  spec: CoderTemplateSpec,
  status: CoderTemplateStatus,
  atomicMaps: [['spec', 'files']],
};

export const CODER_WORKSPACE: ResourceInfo = {
  group: GROUP,
  version: VERSION,
  kind: 'CoderWorkspace',
  listKind: 'CoderWorkspaceList',
  plural: 'coderworkspaces',
  singular: 'coderworkspace',
  shortNames: ['cws'],
  categories: ['coder'],
  verbs: VERBS,
  description:
    'A Coder workspace, viewed through Kubernetes. metadata.name is <organization>.<owner>.<workspace>; ' +
    'the namespace selects the Coder deployment.',
  spec: CoderWorkspaceSpec,
  status: CoderWorkspaceStatus,
};

export function resourceRef(info: ResourceInfo, name?: string): ResourceRef {
  return { group: info.group, resource: info.plural, kind: info.kind, ...(name !== undefined ? { name } : {}) };
}
