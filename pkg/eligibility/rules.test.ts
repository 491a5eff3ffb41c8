import { describe, expect, it } from '@jest/globals';
import type { CoderControlPlane } from '../api/coder/v1alpha1/types.ts';
import { evaluate, resolveNamespace, type TokenLookup } from './rules.ts';

function ccp(name: string, patch: { spec?: CoderControlPlane['spec']; status?: CoderControlPlane['status'] } = {}): CoderControlPlane {
  return {
    apiVersion: 'coder.com/v1alpha1',
    kind: 'CoderControlPlane',
    metadata: { name, namespace: 'team' },
    spec: patch.spec ?? {},
    status: patch.status ?? { operatorAccessReady: true, operatorTokenSecretRef: { name: 'tok', key: 'token' }, url: 'https://coder.example.com' },
  };
}

const tokens: TokenLookup = (_ns, name, key) =>
  name === 'tok' && key === 'token' ? 'secret-value' : name === 'empty' ? '' : name === 'unread' ? undefined : null;

describe('eligibility rule', () => {
  it('accepts a control plane that meets every condition', () => {
    expect(evaluate(ccp('coder'), tokens)).toMatchObject({ eligible: true, reason: 'Eligible' });
  });

  it.each([
    ['a name with a dot', ccp('co.der'), 'InvalidName'],
    ['operator access disabled', ccp('coder', { spec: { operatorAccess: { disabled: true } } }), 'OperatorAccessDisabled'],
    ['operator access not ready', ccp('coder', { status: { operatorTokenSecretRef: { name: 'tok' }, url: 'u' } }), 'OperatorAccessNotReady'],
    ['no token Secret reference', ccp('coder', { status: { operatorAccessReady: true, url: 'u' } }), 'NoOperatorToken'],
    ['a missing Secret', ccp('coder', { status: { operatorAccessReady: true, operatorTokenSecretRef: { name: 'gone' }, url: 'u' } }), 'OperatorTokenSecretMissing'],
    ['an empty token', ccp('coder', { status: { operatorAccessReady: true, operatorTokenSecretRef: { name: 'empty' }, url: 'u' } }), 'OperatorTokenEmpty'],
    ['a Secret not read yet (pending, not empty)', ccp('coder', { status: { operatorAccessReady: true, operatorTokenSecretRef: { name: 'unread' }, url: 'u' } }), 'OperatorTokenPending'],
    ['no URL', ccp('coder', { status: { operatorAccessReady: true, operatorTokenSecretRef: { name: 'tok' } } }), 'NoURL'],
  ])('rejects %s', (_what, object, reason) => {
    const verdict = evaluate(object, tokens);
    expect(verdict).toMatchObject({ eligible: false, reason });
    expect(verdict.message.length).toBeGreaterThan(10);
  });

  it('uses the default key "token" when the reference names none', () => {
    expect(evaluate(ccp('coder', { status: { operatorAccessReady: true, operatorTokenSecretRef: { name: 'tok' }, url: 'u' } }), tokens).eligible).toBe(true);
  });

  it('marks every qualifying control plane of a namespace as conflicting, naming the others', () => {
    const verdicts = resolveNamespace([ccp('b'), ccp('a'), ccp('c', { spec: { operatorAccess: { disabled: true } } })], tokens);
    expect(verdicts.get('a')).toMatchObject({ eligible: false, reason: 'Conflict' });
    expect(verdicts.get('a')?.message).toContain('(a, b)');
    expect(verdicts.get('b')?.message).toContain('conflicts with a');
    expect(verdicts.get('c')).toMatchObject({ reason: 'OperatorAccessDisabled' });
  });

  it('lets a single qualifying control plane serve even beside ineligible ones', () => {
    const verdicts = resolveNamespace([ccp('a'), ccp('b.c')], tokens);
    expect(verdicts.get('a')?.eligible).toBe(true);
    expect(verdicts.get('b.c')?.reason).toBe('InvalidName');
  });
});
