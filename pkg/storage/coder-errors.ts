import type { ResourceRef } from '../api/meta/status-error.ts';
import {
  StatusError,
  alreadyExists,
  badRequest,
  conflict,
  forbidden,
  internalError,
  notFound,
  serviceUnavailable,
  timeout,
  tooManyRequests,
  unauthorized,
} from '../api/meta/status-error.ts';
import { CoderApiError } from '../coder/errors.ts';
import type { Backend } from './context.ts';

/**
 * Maps a failed Coder call to the Kubernetes Status a client should see. Messages keep
 * Coder's message and validations, name the namespace and Coder URL for server-side
 * failures, and never contain the token (the client never puts it in an error).
 */
export function toStatusError(err: unknown, ref: ResourceRef, backend: Backend): StatusError {
  if (err instanceof StatusError) return err;
  if (!(err instanceof CoderApiError)) {
    return internalError(`namespace ${backend.namespace}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const where = `Coder at ${backend.url} (namespace ${backend.namespace})`;
  const text = err.describe();
  if (err.kind === 'canceled') return timeout(`the request ended before ${where} answered: ${err.coderMessage}`);
  switch (err.statusCode) {
    case 0:
      return serviceUnavailable(`${where} is unreachable: ${err.coderMessage}`);
    case 404:
    case 410:
      return notFound(ref);
    case 406:
      // "The provided template version is <status>. Wait for it to complete importing!"
      return conflict(ref, text);
    case 401:
      return unauthorized(`${where} rejected the operator credentials: ${text}`);
    case 403:
      return forbidden(`${where} denied the request: ${text}`, ref);
    case 409:
      return /already exists/i.test(text) ? alreadyExists(ref, `${ref.resource}.${ref.group} "${ref.name ?? ''}" already exists: ${text}`) : conflict(ref, text);
    case 429:
      return tooManyRequests(`${where} is rate limiting requests: ${text}`, err.retryAfterSeconds);
    default:
      if (err.statusCode >= 500) {
        if (err.statusCode === 502 || err.statusCode === 503 || err.statusCode === 504) {
          return serviceUnavailable(`${where} is unavailable (${err.statusCode}): ${text}`);
        }
        return internalError(`${where} failed (${err.statusCode}): ${text}`);
      }
      return badRequest(
        text,
        err.validations.map((v) => ({ type: 'FieldValueInvalid', field: v.field, message: v.detail })),
      );
  }
}
