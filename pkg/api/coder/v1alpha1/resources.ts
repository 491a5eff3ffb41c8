import type { TSchema } from '@sinclair/typebox';
import { toOpenAPISchema, type JsonObject } from '../../json-schema.ts';
import {
  CoderControlPlaneSpec,
  CoderControlPlaneStatus,
  CoderProvisionerSpec,
  CoderProvisionerStatus,
  CoderWorkspaceProxySpec,
  CoderWorkspaceProxyStatus,
} from './schema.ts';

export const GROUP = 'coder.com';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface CustomResource {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: TSchema;
  status: TSchema;
  printerColumns: PrinterColumn[];
}

const condition = (type: string) => `.status.conditions[?(@.type=="${type}")].status`;

export const CODER_CONTROL_PLANE: CustomResource = {
  kind: 'CoderControlPlane',
  plural: 'codercontrolplanes',
  singular: 'codercontrolplane',
  shortNames: ['ccp'],
  description:
    'A Coder deployment: deployed and managed by coder-k8s, or an existing one (spec.external). ' +
    'When eligible it serves the CoderTemplates and CoderWorkspaces of its namespace.',
  spec: CoderControlPlaneSpec,
  status: CoderControlPlaneStatus,
  printerColumns: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Pending or Ready.' },
    { name: 'URL', type: 'string', jsonPath: '.status.url', description: 'URL coder-k8s uses to reach Coder.' },
    { name: 'Eligible', type: 'string', jsonPath: condition('Eligible'), description: 'Whether it serves its namespace.' },
    { name: 'Replicas', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready coderd replicas.', priority: 1 },
    { name: 'Operator-Access', type: 'string', jsonPath: condition('OperatorAccessReady'), description: 'Operator token works.', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age.' },
  ],
};

export const CODER_PROVISIONER: CustomResource = {
  kind: 'CoderProvisioner',
  plural: 'coderprovisioners',
  singular: 'coderprovisioner',
  shortNames: ['cprov'],
  description: 'External Coder provisioner daemons for a CoderControlPlane.',
  spec: CoderProvisionerSpec,
  status: CoderProvisionerStatus,
  printerColumns: [
    { name: 'Control-Plane', type: 'string', jsonPath: '.spec.controlPlaneRef.name', description: 'CoderControlPlane.' },
    { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready daemons.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age.' },
  ],
};

export const CODER_WORKSPACE_PROXY: CustomResource = {
  kind: 'CoderWorkspaceProxy',
  plural: 'coderworkspaceproxies',
  singular: 'coderworkspaceproxy',
  shortNames: ['cwsp'],
  description: 'A Coder workspace proxy registered with a CoderControlPlane.',
  spec: CoderWorkspaceProxySpec,
  status: CoderWorkspaceProxyStatus,
  printerColumns: [
    { name: 'Control-Plane', type: 'string', jsonPath: '.spec.controlPlaneRef.name', description: 'CoderControlPlane.' },
    { name: 'URL', type: 'string', jsonPath: '.status.url', description: 'Proxy URL.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age.' },
  ],
};

export const CUSTOM_RESOURCES: readonly CustomResource[] = [CODER_CONTROL_PLANE, CODER_PROVISIONER, CODER_WORKSPACE_PROXY];

/** The apiextensions.k8s.io/v1 CustomResourceDefinition of a resource. */
export function customResourceDefinition(r: CustomResource): JsonObject {
  const spec = toOpenAPISchema(r.spec);
  // A spec with required fields must be given; one without defaults to {} so nested defaults apply.
  const specRequired = Array.isArray(spec.required) && spec.required.length > 0;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${r.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: r.kind, listKind: `${r.kind}List`, plural: r.plural, singular: r.singular, shortNames: r.shortNames, categories: ['coder'] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: r.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: r.description,
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion of the object.' },
                kind: { type: 'string', description: 'Kind of the object.' },
                metadata: { type: 'object' },
                spec: specRequired ? spec : { ...spec, default: {} },
                status: toOpenAPISchema(r.status),
              },
              ...(specRequired ? { required: ['spec'] } : {}),
            },
          },
        },
      ],
    },
  };
}
