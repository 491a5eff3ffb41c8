import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { parse as parseYaml } from 'yaml';
import { StatusError, badRequest, requestEntityTooLarge, unsupportedMediaType } from '../api/meta/status-error.ts';
import type { FieldValidation } from './validation.ts';

/** Reads the body as text, enforcing the size limit with a 413 Status. */
export async function readBody(ctx: Context, limit: number): Promise<string> {
  try {
    return await getRawBody(ctx.req, { limit, encoding: 'utf8', length: ctx.request.length });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') throw requestEntityTooLarge(`request body exceeds the limit of ${limit} bytes`);
    throw badRequest(`could not read request body: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Object bodies for create and update: JSON, or YAML as kube-apiserver also accepts. */
export async function readObjectBody(ctx: Context, limit: number): Promise<unknown> {
  const type = (ctx.get('content-type') || 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
  const text = await readBody(ctx, limit);
  if (!text.trim()) throw badRequest('request body is empty');
  try {
    if (type === 'application/json' || type === '*/*') return JSON.parse(text) as unknown;
    if (type === 'application/yaml' || type === 'application/x-yaml') return parseYaml(text) as unknown;
  } catch (err) {
    throw badRequest(`error decoding request body: ${err instanceof Error ? err.message : String(err)}`);
  }
  throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
}

export function queryString(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  return Array.isArray(value) ? value[0] : value;
}

export function dryRunOf(ctx: Context, fromBody?: unknown): boolean {
  const values = [ctx.query.dryRun, fromBody].flat().filter((v): v is string => typeof v === 'string');
  for (const v of values) {
    if (v !== 'All') throw badRequest(`dryRun: unsupported value "${v}" (only "All" is supported)`);
  }
  return values.length > 0;
}

export function fieldValidationOf(ctx: Context): FieldValidation {
  const value = queryString(ctx, 'fieldValidation') ?? 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw new StatusError(400, 'BadRequest', `fieldValidation: unsupported value "${value}" (Ignore, Warn or Strict)`);
}

/** Kubernetes Warning headers (RFC 7234 style: code 299, agent "-", quoted text). */
export function setWarnings(ctx: Context, warnings: readonly string[]): void {
  const unique = [...new Set(warnings)];
  if (unique.length === 0) return;
  ctx.set('Warning', unique.map((w) => `299 - "${headerSafe(w)}"`));
}

const MAX_WARNING = 1024;

/**
 * Header values must be printable ASCII here (Node rejects the rest, and a throw after a
 * write to Coder would report a failure for a change that happened): quotes and backslashes
 * are escaped, other characters percent-encoded, long texts truncated.
 */
function headerSafe(text: string): string {
  const escaped = text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/["\\]/g, '\\$&')
    .replace(/[^\x20-\x7e]/gu, (c) => {
      try {
        return encodeURIComponent(c);
      } catch {
        return '?'; // a lone surrogate
      }
    });
  return escaped.length > MAX_WARNING ? `${escaped.slice(0, MAX_WARNING)}...` : escaped;
}

/** A watch (`?watch=true` or `1`): long-running, ended by timeoutSeconds rather than `timeout`. */
export function isWatch(ctx: Context): boolean {
  const watch = queryString(ctx, 'watch');
  return watch === 'true' || watch === '1';
}
