import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { badRequest, fieldInvalid } from '../api/meta/status-error.ts';
import type { StatusCause } from '../api/meta/types.ts';
import { fieldPath } from './validation.ts';

/** meta/v1 DeleteOptions as kube-apiserver decodes it (unknown fields are ignored there too). */
const DeleteOptionsSchema = Type.Object({
  kind: Type.Optional(Type.String()),
  apiVersion: Type.Optional(Type.String()),
  gracePeriodSeconds: Type.Optional(Type.Integer()),
  preconditions: Type.Optional(Type.Object({ uid: Type.Optional(Type.String()), resourceVersion: Type.Optional(Type.String()) })),
  orphanDependents: Type.Optional(Type.Boolean()),
  propagationPolicy: Type.Optional(Type.String()),
  dryRun: Type.Optional(Type.Array(Type.String())),
  ignoreStoreReadErrorWithClusterBreakingPotential: Type.Optional(Type.Boolean()),
});

export type DeleteOptions = Static<typeof DeleteOptionsSchema>;

const check = TypeCompiler.Compile(DeleteOptionsSchema);
const ENUMS: Partial<Record<keyof DeleteOptions, readonly string[]>> = {
  kind: ['DeleteOptions'],
  apiVersion: ['v1', 'meta.k8s.io/v1', 'meta.k8s.io/v1beta1'],
  propagationPolicy: ['Orphan', 'Background', 'Foreground'],
};

/** JSON null is the zero value, as when Go decodes into pointers. */
function withoutNulls(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
}

/**
 * Decodes a DELETE body. An empty body means defaults; anything else must be a
 * DeleteOptions object, or the request fails with a 400 naming the offending field before
 * anything is deleted.
 */
export function parseDeleteOptions(text: string): DeleteOptions {
  if (!text.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw badRequest(`error decoding DeleteOptions: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw badRequest(`the request body must be a DeleteOptions object, got ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`);
  }
  const body = withoutNulls(parsed) as Record<string, unknown>;
  const causes: StatusCause[] = [];
  const seen = new Set<string>();
  for (const err of check.Errors(body)) {
    const field = fieldPath(err.path);
    if (!seen.has(field)) causes.push(fieldInvalid(field, err.message));
    seen.add(field);
  }
  for (const [field, allowed] of Object.entries(ENUMS)) {
    const value = body[field];
    if (typeof value === 'string' && !allowed.includes(value)) {
      causes.push(fieldInvalid(field, `unsupported value ${JSON.stringify(value)}: expected ${allowed.map((a) => `"${a}"`).join(', ')}`));
    }
  }
  if (causes.length > 0) {
    throw badRequest(`invalid DeleteOptions: ${causes.map((c) => `${c.field ?? ''}: ${c.message ?? ''}`).join(', ')}`, causes);
  }
  return body;
}
