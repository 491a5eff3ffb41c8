import { describe, expect, it } from '@jest/globals';
import { StatusError } from '../api/meta/status-error.ts';
import { applyConfiguration, applyPatch, parsePatchBody, patchTypeOf } from './patch.ts';

const current = { metadata: { name: 'coder.docker', labels: { a: '1' } }, spec: { organization: 'coder', displayName: 'Old', icon: 'i' } };

describe('patch types', () => {
  it('maps content types and rejects unknown ones with 415', () => {
    expect(patchTypeOf('application/merge-patch+json; charset=utf-8')).toBe('merge');
    expect(patchTypeOf('application/json-patch+json')).toBe('json');
    expect(patchTypeOf('application/strategic-merge-patch+json')).toBe('strategic');
    expect(patchTypeOf('application/apply-patch+yaml')).toBe('apply');
    try {
      patchTypeOf('text/plain');
      throw new Error('expected failure');
    } catch (err) {
      expect((err as StatusError).code).toBe(415);
    }
  });

  it('merge patch sets and removes fields without touching the original', () => {
    const out = applyPatch('merge', current, { spec: { displayName: 'New', icon: null } }) as typeof current;
    expect(out.spec).toEqual({ organization: 'coder', displayName: 'New' });
    expect(current.spec.displayName).toBe('Old');
  });

  it('strategic merge patch is a merge patch without directives', () => {
    const out = applyPatch('strategic', current, { $retainKeys: ['spec'], spec: { displayName: 'S' } }) as typeof current;
    expect(out.spec.displayName).toBe('S');
    expect(out).not.toHaveProperty('$retainKeys');
  });

  it('json patch applies operations and reports failing tests', () => {
    const out = applyPatch('json', current, [{ op: 'replace', path: '/spec/displayName', value: 'J' }]) as typeof current;
    expect(out.spec.displayName).toBe('J');
    expect(() => applyPatch('json', current, [{ op: 'test', path: '/spec/displayName', value: 'nope' }])).toThrow(StatusError);
    expect(() => applyPatch('json', current, [{ op: 'remove', path: '/spec/missing' }])).toThrow(StatusError);
    expect(() => applyPatch('json', current, { op: 'add' })).toThrow('array');
  });

  it('apply merges the configuration over the live object', () => {
    const out = applyConfiguration(current, { spec: { displayName: 'A' } }) as typeof current;
    expect(out.spec).toEqual({ organization: 'coder', displayName: 'A', icon: 'i' });
  });

  it('parses YAML apply bodies and reports malformed ones with 400', () => {
    expect(parsePatchBody('apply', 'spec:\n  displayName: Y\n')).toEqual({ spec: { displayName: 'Y' } });
    expect(() => parsePatchBody('merge', '{nope')).toThrow('error decoding patch');
  });
});
