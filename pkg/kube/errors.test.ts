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

describe.each([
  ['isNotFound', isNotFound, 404, 403],
  ['isConflict', isConflict, 409, 404],
] as const)('%s', (_name, matches, code, other) => {
  it(`recognises a ${code} from kube-apiserver, and nothing else`, () => {
    expect(matches(new ApiException(code, 'status', '{}', {}))).toBe(true);
    expect(matches(new ApiException(other, 'status', '{}', {}))).toBe(false);
    expect(matches(new Error(String(code)))).toBe(false);
    expect(matches(null)).toBe(false);
  });
});
