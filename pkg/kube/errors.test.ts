import { describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import { describeKubeError, isConflict, isNotFound } from './errors.ts';

describe('describeKubeError', () => {
  it('keeps only the code and the Status message of an API error', () => {
    const body = JSON.stringify({ kind: 'Status', message: 'namespaces is forbidden: User "x" cannot list resource "namespaces"', code: 403 });
    const err = new ApiException(403, 'Unknown API Status Code!', body, { 'audit-id': 'a' });
    expect(describeKubeError(err)).toBe('HTTP 403: namespaces is forbidden: User "x" cannot list resource "namespaces"');
  });

  it('keeps a body that is not a Status, and plain errors as they are', () => {
    expect(describeKubeError(new ApiException(502, 'Bad Gateway', '<html>bad gateway</html>', {}))).toBe('HTTP 502: <html>bad gateway</html>');
    expect(describeKubeError(new Error('connect ECONNREFUSED'))).toBe('connect ECONNREFUSED');
    expect(describeKubeError('boom')).toBe('boom');
  });
});

describe('isNotFound', () => {
  it('recognises a 404 from the API and nothing else', () => {
    expect(isNotFound(new ApiException(404, 'Not Found', '{}', {}))).toBe(true);
    expect(isNotFound(new ApiException(403, 'Forbidden', '{}', {}))).toBe(false);
    expect(isNotFound(new Error('404'))).toBe(false);
    expect(isNotFound(null)).toBe(false);
  });
});

describe('isConflict', () => {
  it('recognises a 409 from kube-apiserver, and nothing else', () => {
    expect(isConflict(new ApiException(409, 'Conflict', '{}', {}))).toBe(true);
    expect(isConflict(new ApiException(404, 'Not Found', '{}', {}))).toBe(false);
    expect(isConflict(new Error('409'))).toBe(false);
    expect(isConflict(null)).toBe(false);
  });
});
