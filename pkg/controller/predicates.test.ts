import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { specOrMetadataChanged } from './predicates.ts';

function ccp(metadata: Record<string, unknown> = {}, status: Record<string, unknown> = {}): KubernetesObject & { status: unknown } {
  return {
    apiVersion: 'coder.com/v1alpha1',
    kind: 'CoderControlPlane',
    metadata: { name: 'coder', namespace: 'team-a', generation: 3, resourceVersion: '10', labels: { a: '1' }, annotations: { b: '2' }, finalizers: ['coder.com/workspace-rbac'], ...metadata },
    status,
  };
}

describe('specOrMetadataChanged', () => {
  it('passes adds', () => {
    expect(specOrMetadataChanged(undefined, ccp())).toBe(true);
  });

  it('skips a status-only update (new resourceVersion and managedFields, same generation)', () => {
    const before = ccp({}, { phase: 'Pending' });
    const after = ccp({ resourceVersion: '11', managedFields: [{ manager: 'coder-k8s', subresource: 'status' }] }, { phase: 'Ready' });
    expect(specOrMetadataChanged(before, after)).toBe(false);
  });

  it('passes a spec change (generation moved)', () => {
    expect(specOrMetadataChanged(ccp(), ccp({ generation: 4, resourceVersion: '11' }))).toBe(true);
  });

  it('passes label and annotation changes (kubectl annotate asks for a pass)', () => {
    expect(specOrMetadataChanged(ccp(), ccp({ labels: { a: '2' } }))).toBe(true);
    expect(specOrMetadataChanged(ccp(), ccp({ labels: { a: '1', c: '3' } }))).toBe(true);
    expect(specOrMetadataChanged(ccp(), ccp({ annotations: { b: '2', reconcile: '1700000000' } }))).toBe(true);
    expect(specOrMetadataChanged(ccp(), ccp({ annotations: undefined }))).toBe(true);
    // Same content in another key order is no change.
    expect(specOrMetadataChanged(ccp({ labels: { a: '1', c: '3' } }), ccp({ labels: { c: '3', a: '1' } }))).toBe(false);
  });

  it('passes finalizer and owner reference changes', () => {
    expect(specOrMetadataChanged(ccp(), ccp({ finalizers: [] }))).toBe(true);
    expect(specOrMetadataChanged(ccp({ finalizers: undefined }), ccp())).toBe(true);
    expect(specOrMetadataChanged(ccp(), ccp({ ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u' }] }))).toBe(true);
  });

  it('passes the deletion (deletionTimestamp set), even with the same generation', () => {
    // kube-apiserver bumps the generation on graceful deletion of custom resources, but not
    // every server does; the timestamp alone must be enough.
    expect(specOrMetadataChanged(ccp(), ccp({ deletionTimestamp: '2026-01-01T00:00:00Z' }))).toBe(true);
    expect(specOrMetadataChanged(ccp({ deletionTimestamp: '2026-01-01T00:00:00Z' }), ccp({ deletionTimestamp: new Date('2026-01-01T00:00:00Z') }))).toBe(false);
  });

  it('passes any update of an object without a generation (its spec changes cannot be told apart)', () => {
    expect(specOrMetadataChanged(ccp({ generation: undefined }), ccp({ generation: undefined, resourceVersion: '11' }))).toBe(true);
  });
});
