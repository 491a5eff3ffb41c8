import { describe, expect, it } from '@jest/globals';
import { StatusError } from '../api/meta/status-error.ts';
import { parseDeleteOptions } from './delete-options.ts';

function failure(text: string): StatusError {
  try {
    parseDeleteOptions(text);
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  }
  throw new Error(`accepted ${text}`);
}

describe('DeleteOptions decoding', () => {
  it('takes an empty body as the defaults', () => {
    expect(parseDeleteOptions('')).toEqual({});
    expect(parseDeleteOptions('  \n')).toEqual({});
  });

  it('accepts what kubectl and client-go send, nulls as absent', () => {
    expect(parseDeleteOptions('{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background","gracePeriodSeconds":null}')).toEqual({
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: 'Background',
    });
    expect(parseDeleteOptions('{"preconditions":{"uid":"u","resourceVersion":null},"dryRun":["All"]}')).toEqual({ preconditions: { uid: 'u' }, dryRun: ['All'] });
  });

  it('refuses anything that is not a DeleteOptions object, naming the field', () => {
    expect(failure('[]').message).toBe('the request body must be a DeleteOptions object, got an array');
    expect(failure('5').code).toBe(400);
    expect(failure('{').message).toContain('error decoding DeleteOptions');
    const policy = failure('{"propagationPolicy":"Sideways"}');
    expect(policy.status.details?.causes).toEqual([
      { type: 'FieldValueInvalid', field: 'propagationPolicy', message: 'unsupported value "Sideways": expected "Orphan", "Background", "Foreground"' },
    ]);
    expect(failure('{"kind":"Pod","gracePeriodSeconds":1.5}').status.details?.causes?.map((c) => c.field)).toEqual(['gracePeriodSeconds', 'kind']);
    expect(failure('{"preconditions":{"uid":7}}').message).toContain('preconditions.uid');
  });
});
