import { describe, expect, it } from '@jest/globals';
import { CODER_TEMPLATE, CODER_WORKSPACE } from '../api/aggregation/v1alpha1/resources.ts';
import { caughtStatus as failure } from '../../test/util/status.ts';
import { fieldPath, validateObject } from './validation.ts';


const template = {
  apiVersion: 'aggregation.coder.com/v1alpha1',
  kind: 'CoderTemplate',
  metadata: { name: 'coder.x' },
  spec: { organization: 'coder', files: { 'main.tf': 'x' } },
};

describe('request body validation', () => {
  it('accepts a well-formed object', () => {
    expect(validateObject(CODER_TEMPLATE, template, 'Strict').warnings).toEqual([]);
  });

  it('rejects wrong apiVersion and kind with 400', () => {
    expect(failure(() => validateObject(CODER_TEMPLATE, { ...template, apiVersion: 'v1' }, 'Strict')).message).toContain('apiVersion');
    expect(failure(() => validateObject(CODER_TEMPLATE, { ...template, kind: 'CoderWorkspace' }, 'Strict')).message).toContain('kind');
  });

  it('reports type errors as 422 causes naming the field', () => {
    const err = failure(() =>
      validateObject(CODER_WORKSPACE, { ...template, kind: 'CoderWorkspace', spec: { organization: 'coder', templateName: 1, ttlMillis: -5 } }, 'Strict'),
    );
    expect(err.code).toBe(422);
    expect(err.reason).toBe('Invalid');
    const fields = err.status.details?.causes?.map((c) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['spec.templateName', 'spec.ttlMillis']));
  });

  it('requires spec and its required fields', () => {
    expect(failure(() => validateObject(CODER_TEMPLATE, { ...template, spec: undefined }, 'Strict')).status.details?.causes?.[0]?.field).toBe('spec');
    const err = failure(() => validateObject(CODER_WORKSPACE, { ...template, kind: 'CoderWorkspace', spec: { organization: 'coder' } }, 'Strict'));
    expect(err.status.details?.causes).toEqual([expect.objectContaining({ field: 'spec.templateName', type: 'FieldValueRequired' })]);
  });

  it('rejects non-string label values', () => {
    const err = failure(() => validateObject(CODER_TEMPLATE, { ...template, metadata: { name: 'coder.x', labels: { a: 1 } } }, 'Strict'));
    expect(err.status.details?.causes?.[0]?.field).toBe('metadata.labels');
  });

  it('follows fieldValidation for unknown fields', () => {
    const body = { ...template, spec: { ...template.spec, bogus: true }, extra: 1 };
    expect(failure(() => validateObject(CODER_TEMPLATE, body, 'Strict')).message).toBe(
      'strict decoding error: unknown field "extra", unknown field "spec.bogus"',
    );
    expect(validateObject(CODER_TEMPLATE, body, 'Warn').warnings).toEqual(['unknown field "extra"', 'unknown field "spec.bogus"']);
    expect(validateObject(CODER_TEMPLATE, body, 'Ignore').warnings).toEqual([]);
  });

  it('rejects bodies that are not objects', () => {
    expect(failure(() => validateObject(CODER_TEMPLATE, [], 'Strict')).code).toBe(400);
  });

  it('turns JSON pointers into Kubernetes field paths', () => {
    expect(fieldPath('/spec/files/main.tf')).toBe('spec.files[main.tf]');
    expect(fieldPath('/spec/files/a~1b')).toBe('spec.files[a/b]');
    expect(fieldPath('/items/0/name')).toBe('items[0].name');
  });
});
