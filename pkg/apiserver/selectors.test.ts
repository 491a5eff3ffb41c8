import { describe, expect, it } from '@jest/globals';
import { StatusError } from '../api/meta/status-error.ts';
import { OBJECT_META_FIELDS } from '../storage/storage.ts';
import { matchesLabels, parseFieldSelector, parseLabelSelector, selectionOf } from './selectors.ts';

const labels = { app: 'web', tier: 'frontend', 'aggregation.coder.com/owner': 'alice' };

describe('label selectors', () => {
  it.each([
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app=db', false],
    ['tier in (frontend, backend)', true],
    ['tier notin (frontend)', false],
    ['app', true],
    ['!app', false],
    ['!missing', true],
    ['missing!=x', true],
    ['app=web,tier=frontend', true],
    ['app=web,tier=backend', false],
    ['aggregation.coder.com/owner=alice', true],
    ['', true],
  ])('%s → %s', (selector, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it.each(['app=', '=web', 'app in (', 'a b', 'app=we b'])('rejects %j with 400', (selector) => {
    let err: unknown;
    try {
      const parsed = parseLabelSelector(selector);
      matchesLabels(parsed, labels);
    } catch (e) {
      err = e;
    }
    // "app=" is valid (empty value) in Kubernetes; everything else here must fail.
    if (selector === 'app=') return;
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).code).toBe(400);
  });
});

describe('field selectors', () => {
  const supported = ['metadata.name', 'metadata.namespace'];
  const object = { apiVersion: 'v1', kind: 'X', metadata: { name: 'coder.docker', namespace: 'coder', labels: { team: 'a' } } };
  const select = (fields: string, labels?: string) => selectionOf(labels, fields, OBJECT_META_FIELDS)(object);

  it('matches = and !=, together with labels', () => {
    expect(select('metadata.name=coder.docker')).toBe(true);
    expect(select('metadata.name!=coder.docker')).toBe(false);
    expect(select('metadata.namespace==coder,metadata.name=x')).toBe(false);
    expect(select('metadata.namespace=coder', 'team=a')).toBe(true);
    expect(select('metadata.namespace=coder', 'team=b')).toBe(false);
  });

  it('rejects unsupported fields naming them', () => {
    expect(() => parseFieldSelector('spec.running=true', supported)).toThrow('field label not supported: "spec.running"');
  });
});
