import { createHash } from 'node:crypto';
import type { ResourceInfo } from '../api/aggregation/v1alpha1/resources.ts';
import { toOpenAPISchema } from '../api/json-schema.ts';

type Json = Record<string, unknown>;

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** Reverse-DNS model names, as Kubernetes publishes them (com.coder.aggregation.v1alpha1.Kind). */
function modelName(info: ResourceInfo, kind: string): string {
  return `${info.group.split('.').reverse().join('.')}.${info.version}.${kind}`;
}

const plain = toOpenAPISchema;

function metaSchemas(ref: (name: string) => string): Record<string, Json> {
  const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
  return {
    [`${META}.ObjectMeta`]: {
      type: 'object',
      description: 'Standard object metadata.',
      properties: {
        name: { type: 'string', description: 'Name of the object; for these resources <organization>.<template> or <organization>.<owner>.<workspace>.' },
        namespace: { type: 'string', description: 'Namespace; selects the Coder deployment.' },
        uid: { type: 'string', description: 'The Coder ID of the object.' },
        resourceVersion: { type: 'string', description: 'Opaque version for optimistic concurrency.' },
        creationTimestamp: { type: 'string', format: 'date-time', description: 'When the object was created in Coder.' },
        deletionTimestamp: { type: 'string', format: 'date-time', description: 'When Coder started deleting the object.' },
        labels: { ...stringMap, description: 'Labels computed from Coder fields (organization, owner, template).' },
        annotations: { ...stringMap, description: 'Annotations (not stored).' },
        generateName: { type: 'string' },
        generation: { type: 'integer', format: 'int64' },
      },
    },
    [`${META}.ListMeta`]: {
      type: 'object',
      description: 'Standard list metadata.',
      properties: {
        resourceVersion: { type: 'string' },
        continue: { type: 'string', description: 'Token for the next page when limit was set.' },
        remainingItemCount: { type: 'integer', format: 'int64' },
      },
    },
    [`${META}.Status`]: {
      type: 'object',
      description: 'Status is the return value for calls that do not return other objects.',
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        code: { type: 'integer', format: 'int32' },
        message: { type: 'string' },
        reason: { type: 'string' },
        status: { type: 'string' },
        metadata: { $ref: ref(`${META}.ListMeta`) },
        details: { type: 'object', additionalProperties: true },
      },
      'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Status' }],
    },
    [`${META}.Patch`]: { type: 'object', description: 'A patch document (JSON patch, merge patch or apply configuration).' },
    [`${META}.DeleteOptions`]: {
      type: 'object',
      properties: {
        dryRun: { type: 'array', items: { type: 'string' } },
        preconditions: {
          type: 'object',
          properties: { resourceVersion: { type: 'string' }, uid: { type: 'string' } },
        },
      },
    },
  };
}

function resourceSchemas(info: ResourceInfo, ref: (name: string) => string): Record<string, Json> {
  const gvk = (kind: string) => [{ group: info.group, version: info.version, kind }];
  return {
    [modelName(info, info.kind)]: {
      type: 'object',
      description: info.description,
      required: ['spec'],
      properties: {
        apiVersion: { type: 'string', description: `APIVersion: ${info.group}/${info.version}.` },
        kind: { type: 'string', description: `Kind: ${info.kind}.` },
        metadata: { $ref: ref(`${META}.ObjectMeta`), description: 'Standard object metadata.' },
        spec: plain(info.spec),
        status: plain(info.status),
      },
      'x-kubernetes-group-version-kind': gvk(info.kind),
    },
    [modelName(info, info.listKind)]: {
      type: 'object',
      description: `A list of ${info.kind}.`,
      required: ['items'],
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { $ref: ref(`${META}.ListMeta`) },
        items: { type: 'array', items: { $ref: ref(modelName(info, info.kind)) } },
      },
      'x-kubernetes-group-version-kind': gvk(info.listKind),
    },
  };
}

interface Param {
  name: string;
  in: 'path' | 'query';
  description: string;
  type: 'string' | 'integer' | 'boolean';
  required?: boolean;
}

const p = (name: string, description: string, type: Param['type'] = 'string'): Param => ({ name, in: 'query', description, type });
const PARAMS = {
  namespace: { name: 'namespace', in: 'path', required: true, type: 'string', description: 'object name and auth scope, such as for teams and projects' } as Param,
  name: { name: 'name', in: 'path', required: true, type: 'string', description: 'name of the object' } as Param,
  pretty: p('pretty', "If 'true', then the output is pretty printed."),
  dryRun: p('dryRun', 'When present, indicates that modifications should not be persisted. Valid value: All.'),
  fieldManager: p('fieldManager', 'A name associated with the actor or entity that is making these changes.'),
  fieldValidation: p('fieldValidation', 'How to treat unknown fields in the body: Ignore, Warn (default) or Strict.'),
  force: p('force', 'Force is accepted for apply requests; there are no field conflicts to override.', 'boolean'),
  labelSelector: p('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
  fieldSelector: p('fieldSelector', 'A selector on metadata.name and metadata.namespace.'),
  limit: p('limit', 'Maximum number of objects to return; use continue for the next page.', 'integer'),
  continue: p('continue', 'The continue token from a previous paged list.'),
  resourceVersion: p('resourceVersion', 'Accepted for compatibility; lists are always served from Coder.'),
};

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  action: string;
  id: string;
  params: Param[];
  body?: string;
  response: string;
  codes: number[];
  patch?: boolean;
}

function operations(info: ResourceInfo) {
  const kind = info.kind;
  const list = [PARAMS.labelSelector, PARAMS.fieldSelector, PARAMS.limit, PARAMS.continue, PARAMS.resourceVersion];
  const write = [PARAMS.dryRun, PARAMS.fieldManager, PARAMS.fieldValidation];
  const model = modelName(info, kind);
  const listModel = modelName(info, info.listKind);
  const base = `/apis/${info.group}/${info.version}`;
  const title = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  const idPart = `${info.group.split('.').map(title).join('')}${title(info.version)}`;
  const ops: Record<string, { params: Param[]; ops: Operation[] }> = {
    [`${base}/${info.plural}`]: {
      params: [PARAMS.pretty],
      ops: [{ method: 'get', action: 'list', id: `list${idPart}${kind}ForAllNamespaces`, params: list, response: listModel, codes: [200] }],
    },
    [`${base}/namespaces/{namespace}/${info.plural}`]: {
      params: [PARAMS.namespace, PARAMS.pretty],
      ops: [
        { method: 'get', action: 'list', id: `list${idPart}Namespaced${kind}`, params: list, response: listModel, codes: [200] },
        { method: 'post', action: 'post', id: `create${idPart}Namespaced${kind}`, params: write, body: model, response: model, codes: [200, 201, 202] },
      ],
    },
    [`${base}/namespaces/{namespace}/${info.plural}/{name}`]: {
      params: [PARAMS.name, PARAMS.namespace, PARAMS.pretty],
      ops: [
        { method: 'get', action: 'get', id: `read${idPart}Namespaced${kind}`, params: [], response: model, codes: [200] },
        { method: 'put', action: 'put', id: `replace${idPart}Namespaced${kind}`, params: write, body: model, response: model, codes: [200, 201] },
        {
          method: 'patch',
          action: 'patch',
          id: `patch${idPart}Namespaced${kind}`,
          params: [...write, PARAMS.force],
          body: `${META}.Patch`,
          response: model,
          codes: [200, 201],
          patch: true,
        },
        {
          method: 'delete',
          action: 'delete',
          id: `delete${idPart}Namespaced${kind}`,
          params: [PARAMS.dryRun],
          body: `${META}.DeleteOptions`,
          response: `${META}.Status`,
          codes: [200, 202],
        },
      ],
    },
  };
  return ops;
}

const PATCH_MEDIA = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

function gvkExtension(info: ResourceInfo) {
  return { group: info.group, version: info.version, kind: info.kind };
}

/** OpenAPI 3.0 document for the group-version (served at /openapi/v3/apis/<group>/<version>). */
export function openAPIV3(resources: readonly ResourceInfo[], title: string): Json {
  const ref = (name: string) => `#/components/schemas/${name}`;
  const schemas: Record<string, Json> = { ...metaSchemas(ref) };
  const paths: Record<string, Json> = {};
  for (const info of resources) {
    Object.assign(schemas, resourceSchemas(info, ref));
    for (const [path, { params, ops }] of Object.entries(operations(info))) {
      const item: Json = { parameters: params.map(v3Param) };
      for (const op of ops) {
        const content = (model: string) => ({ 'application/json': { schema: { $ref: ref(model) } } });
        item[op.method] = {
          tags: [`${info.group}_${info.version}`],
          operationId: op.id,
          description: `${op.action} ${info.kind}`,
          parameters: op.params.map(v3Param),
          ...(op.body
            ? {
                requestBody: {
                  required: op.method !== 'delete',
                  content: op.patch
                    ? Object.fromEntries(PATCH_MEDIA.map((m) => [m, { schema: { $ref: ref(op.body ?? '') } }]))
                    : content(op.body),
                },
              }
            : {}),
          responses: Object.fromEntries<Json>([
            ...op.codes.map((c): [string, Json] => [String(c), { description: 'OK', content: content(op.response) }]),
            ['401', { description: 'Unauthorized' }],
          ]),
          'x-kubernetes-action': op.action,
          'x-kubernetes-group-version-kind': gvkExtension(info),
        };
      }
      paths[path] = item;
    }
  }
  return { openapi: '3.0.0', info: { title, version: resources[0]?.version ?? '' }, paths, components: { schemas } };
}

function v3Param(param: Param): Json {
  return {
    name: param.name,
    in: param.in,
    description: param.description,
    ...(param.required ? { required: true } : {}),
    schema: { type: param.type, uniqueItems: true },
  };
}

/** Swagger 2.0 document (served at /openapi/v2; kube-apiserver merges it into its own). */
export function openAPIV2(resources: readonly ResourceInfo[], title: string): Json {
  const ref = (name: string) => `#/definitions/${name}`;
  const definitions: Record<string, Json> = { ...metaSchemas(ref) };
  const paths: Record<string, Json> = {};
  for (const info of resources) {
    Object.assign(definitions, resourceSchemas(info, ref));
    for (const [path, { params, ops }] of Object.entries(operations(info))) {
      const item: Json = { parameters: params.map(v2Param) };
      for (const op of ops) {
        item[op.method] = {
          tags: [`${info.group}_${info.version}`],
          operationId: op.id,
          description: `${op.action} ${info.kind}`,
          consumes: op.patch ? PATCH_MEDIA : ['*/*'],
          produces: ['application/json'],
          schemes: ['https'],
          parameters: [
            ...op.params.map(v2Param),
            ...(op.body ? [{ name: 'body', in: 'body', required: op.method !== 'delete', schema: { $ref: ref(op.body) } }] : []),
          ],
          responses: Object.fromEntries<Json>([
            ...op.codes.map((c): [string, Json] => [String(c), { description: 'OK', schema: { $ref: ref(op.response) } }]),
            ['401', { description: 'Unauthorized' }],
          ]),
          'x-kubernetes-action': op.action,
          'x-kubernetes-group-version-kind': gvkExtension(info),
        };
      }
      paths[path] = item;
    }
  }
  return { swagger: '2.0', info: { title, version: resources[0]?.version ?? '' }, paths, definitions };
}

function v2Param(param: Param): Json {
  return {
    name: param.name,
    in: param.in,
    description: param.description,
    type: param.type,
    uniqueItems: true,
    ...(param.required ? { required: true } : {}),
  };
}

/** /openapi/v3 root: where each group-version's document lives, with a content hash for caching. */
export function openAPIV3Root(resources: readonly ResourceInfo[], document: Json): Json {
  const info = resources[0];
  if (!info) return { paths: {} };
  const hash = createHash('sha512').update(JSON.stringify(document)).digest('hex').slice(0, 64).toUpperCase();
  const path = `apis/${info.group}/${info.version}`;
  return { paths: { [path]: { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` } } };
}
