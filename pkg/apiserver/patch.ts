import jsonpatch from 'fast-json-patch';
import mergePatch from 'json-merge-patch';
import { parse as parseYaml } from 'yaml';
import { badRequest, unsupportedMediaType, StatusError } from '../api/meta/status-error.ts';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+json': 'apply',
};

export function patchTypeOf(contentType: string | undefined): PatchType {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const patchType = PATCH_TYPES[type];
  if (!patchType) {
    throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_TYPES).join(', ')}`);
  }
  return patchType;
}

/** Parses a patch body: JSON for every type, YAML (a JSON superset) for apply. */
export function parsePatchBody(type: PatchType, body: string): unknown {
  try {
    return type === 'apply' ? (parseYaml(body) as unknown) : (JSON.parse(body) as unknown);
  } catch (err) {
    throw badRequest(`error decoding patch: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Strategic-merge directives ($patch, $retainKeys, $setElementOrder/...) only matter for
 * lists with merge keys, which these resources do not have; without them a strategic
 * merge patch is a JSON merge patch.
 */
function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (key.startsWith('$')) {
      if (key === '$patch' && child !== 'merge') throw badRequest(`strategic merge patch directive $patch: ${String(child)} is not supported here`);
      continue;
    }
    out[key] = stripDirectives(child);
  }
  return out;
}

export function applyPatch(type: Exclude<PatchType, 'apply'>, current: object, patch: unknown): unknown {
  if (type === 'json') {
    if (!Array.isArray(patch)) throw badRequest('json patch: body must be an array of operations');
    // validate() returns undefined for a valid patch, whatever its declared type says.
    const error = jsonpatch.validate(patch as jsonpatch.Operation[], current) as jsonpatch.JsonPatchError | undefined;
    if (error) {
      const message = `json patch: ${error.name}: ${error.message.split('\n')[0] ?? ''}`;
      // A well-formed patch that does not apply to this object is Invalid (422), as in kube-apiserver.
      const applies = error.name !== 'TEST_OPERATION_FAILED' && error.name !== 'OPERATION_PATH_UNRESOLVABLE';
      throw applies ? badRequest(message) : new StatusError(422, 'Invalid', message);
    }
    try {
      return jsonpatch.applyPatch(structuredClone(current), patch as jsonpatch.Operation[], true, false).newDocument;
    } catch (err) {
      if (err instanceof StatusError) throw err;
      throw new StatusError(422, 'Invalid', `json patch: ${err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err)}`);
    }
  }
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) {
    throw badRequest(`${type} merge patch: body must be a JSON object`);
  }
  const effective = type === 'strategic' ? stripDirectives(patch) : patch;
  return mergePatch.apply(structuredClone(current), effective);
}

/**
 * Server-side apply without field ownership: the applied configuration is merged over the
 * live object (fields it sets win, fields it omits are kept). There are no other managers
 * whose fields could conflict, because the objects have no storage of their own.
 */
export function applyConfiguration(current: object, applied: object, atomicPaths: readonly string[][] = []): unknown {
  const merged = mergePatch.apply(structuredClone(current), stripNulls(applied)) as Record<string, unknown>;
  // Atomic maps (x-kubernetes-map-type: atomic) are owned whole: the applied value replaces
  // the live one, so a key left out of the configuration is removed.
  for (const path of atomicPaths) {
    const value = getPath(applied, path);
    if (value !== undefined) setPath(merged, path, structuredClone(value));
  }
  return merged;
}

function getPath(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function setPath(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!next || typeof next !== 'object') return;
    node = next as Record<string, unknown>;
  }
  const last = path.at(-1);
  if (last !== undefined) node[last] = value;
}

function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== null).map(([k, v]) => [k, stripNulls(v)]),
  );
}
