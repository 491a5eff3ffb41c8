import { Kind, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { ResourceInfo } from '../api/aggregation/v1alpha1/resources.ts';
import { resourceRef } from '../api/aggregation/v1alpha1/resources.ts';
import { badRequest, fieldInvalid, fieldRequired, invalid } from '../api/meta/status-error.ts';
import type { KubeObject, StatusCause } from '../api/meta/types.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

const TOP_LEVEL_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checker(schema: TSchema): TypeCheck<TSchema> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  return check;
}

/** JSON pointer (/spec/files/a~1b) → Kubernetes field path (spec.files[a/b]). */
export function fieldPath(pointer: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = '';
  for (const part of parts) {
    if (/^\d+$/.test(part) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

function unknownFields(schema: TSchema, value: unknown, path: string, out: string[]): void {
  if (schema[Kind] !== 'Object' || !value || typeof value !== 'object' || Array.isArray(value)) return;
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const sub = properties[key];
    const childPath = path ? `${path}.${key}` : key;
    if (!sub) out.push(childPath);
    else unknownFields(sub, child, childPath, out);
  }
}

export interface ValidatedObject<T> {
  object: T;
  /** Unknown fields found (reported as warnings unless fieldValidation=Strict, which fails instead). */
  warnings: string[];
}

/**
 * Checks a request body against the resource's schema: type meta, metadata shape and spec.
 * status is read-only (computed from Coder), so it is accepted and dropped unchecked. Unknown fields follow Kubernetes' fieldValidation (Strict fails, Warn warns).
 */
export function validateObject<T extends KubeObject>(
  info: ResourceInfo,
  body: unknown,
  fieldValidation: FieldValidation,
): ValidatedObject<T> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(`request body must be a JSON object of kind ${info.kind}`);
  }
  const raw = body as Record<string, unknown>;
  const expectedApiVersion = `${info.group}/${info.version}`;
  if (raw.apiVersion !== undefined && raw.apiVersion !== expectedApiVersion) {
    throw badRequest(`apiVersion: expected "${expectedApiVersion}", got ${JSON.stringify(raw.apiVersion)}`);
  }
  if (raw.kind !== undefined && raw.kind !== info.kind) {
    throw badRequest(`kind: expected "${info.kind}", got ${JSON.stringify(raw.kind)}`);
  }
  const metadata = raw.metadata ?? {};
  const name = typeof (metadata as { name?: unknown }).name === 'string' ? (metadata as { name: string }).name : '';
  const ref = resourceRef(info, name);
  if (typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw invalid(ref, [fieldInvalid('metadata', 'must be an object')]);
  }
  const causes: StatusCause[] = [];
  const meta = metadata as Record<string, unknown>;
  for (const key of ['labels', 'annotations'] as const) {
    const map = meta[key];
    if (map === undefined || map === null) continue;
    if (typeof map !== 'object' || Array.isArray(map) || Object.values(map).some((v) => typeof v !== 'string')) {
      causes.push(fieldInvalid(`metadata.${key}`, 'must be a map of string to string'));
    }
  }
  for (const key of ['name', 'namespace', 'resourceVersion', 'uid', 'generateName'] as const) {
    if (meta[key] !== undefined && typeof meta[key] !== 'string') causes.push(fieldInvalid(`metadata.${key}`, 'must be a string'));
  }
  if (raw.spec === undefined || raw.spec === null) {
    causes.push(fieldRequired('spec'));
  } else {
    for (const err of checker(info.spec).Errors(raw.spec)) {
      const path = fieldPath(`/spec${err.path}`);
      causes.push(err.message.startsWith('Expected required') ? fieldRequired(path) : fieldInvalid(path, err.message));
    }
  }
  if (causes.length > 0) throw invalid(ref, dedupe(causes));

  const unknown: string[] = [];
  for (const key of Object.keys(raw)) if (!TOP_LEVEL_FIELDS.has(key)) unknown.push(key);
  for (const key of Object.keys(meta)) if (!OBJECT_META_FIELDS.has(key)) unknown.push(`metadata.${key}`);
  unknownFields(info.spec, raw.spec, 'spec', unknown);
  if (unknown.length > 0 && fieldValidation === 'Strict') {
    throw badRequest(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
  }
  const warnings = fieldValidation === 'Warn' ? unknown.map((f) => `unknown field "${f}"`) : [];
  return { object: raw as unknown as T, warnings };
}

function dedupe(causes: StatusCause[]): StatusCause[] {
  const seen = new Set<string>();
  return causes.filter((c) => {
    const key = c.field ?? '';
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
