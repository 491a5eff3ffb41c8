import { describe, expect, it } from '@jest/globals';
import { CoderApiError } from '../coder/errors.ts';
import { CoderClient } from '../coder/client.ts';
import { toStatusError } from './coder-errors.ts';

const backend = { namespace: 'team-a', url: 'https://coder.example.com', coder: new CoderClient({ url: 'https://coder.example.com', token: 'secret-token-value' }) };
const ref = { group: 'aggregation.coder.com', resource: 'codertemplates', kind: 'CoderTemplate', name: 'coder.docker' };

function coderError(statusCode: number, message: string, extra: Partial<ConstructorParameters<typeof CoderApiError>[0]> = {}) {
  return new CoderApiError({ kind: statusCode ? 'http' : 'network', statusCode, coderMessage: message, endpoint: 'GET /api/v2/templates/{id}', baseUrl: backend.url, ...extra });
}

describe('Coder → Kubernetes Status mapping', () => {
  it.each([
    [404, 'Resource not found', 404, 'NotFound'],
    [403, 'Forbidden.', 403, 'Forbidden'],
    [401, 'You are signed out', 401, 'Unauthorized'],
    [409, 'Template name "x" already exists', 409, 'AlreadyExists'],
    [409, 'A workspace build is already active.', 409, 'Conflict'],
    [400, 'Validation failed.', 400, 'BadRequest'],
    [422, 'Unprocessable', 400, 'BadRequest'],
    [406, 'The provided template version is running.', 409, 'Conflict'],
    [410, 'Workspace was deleted', 404, 'NotFound'],
    [429, 'rate limited', 429, 'TooManyRequests'],
    [500, 'An internal server error occurred.', 500, 'InternalError'],
    [503, 'unavailable', 503, 'ServiceUnavailable'],
    [0, 'ECONNREFUSED', 503, 'ServiceUnavailable'],
  ])('Coder %d (%s) → %d %s', (coderCode, message, code, reason) => {
    const status = toStatusError(coderError(coderCode, message), ref, backend);
    expect(status.code).toBe(code);
    expect(status.reason).toBe(reason);
  });

  it('keeps Coder validations as causes', () => {
    const status = toStatusError(
      coderError(400, 'Validation failed.', { validations: [{ field: 'name', detail: 'Validation failed for tag "required"' }] }),
      ref,
      backend,
    );
    expect(status.message).toContain('name: Validation failed');
    expect(status.status.details?.causes).toEqual([{ type: 'FieldValueInvalid', field: 'name', message: 'Validation failed for tag "required"' }]);
  });

  it('keeps Retry-After on 429', () => {
    const status = toStatusError(coderError(429, 'slow down', { retryAfterSeconds: 7 }), ref, backend);
    expect(status.status.details?.retryAfterSeconds).toBe(7);
  });

  it('names namespace and URL for server failures, never the token', () => {
    for (const code of [0, 500, 503]) {
      const status = toStatusError(coderError(code, 'boom'), ref, backend);
      expect(status.message).toContain('team-a');
      expect(status.message).toContain('https://coder.example.com');
      expect(JSON.stringify(status.status)).not.toContain('secret-token-value');
    }
  });
});
