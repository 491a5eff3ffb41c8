import { DEFAULT_TOKEN_KEY, type CoderControlPlane } from '../api/coder/v1alpha1/types.ts';

export interface Verdict {
  eligible: boolean;
  reason: string;
  message: string;
}

/** Reads a token Secret's value; undefined when the Secret is not (yet) known. */
export type TokenLookup = (namespace: string, name: string, key: string) => string | undefined | null;

/**
 * Whether a control plane may serve its namespace on its own merits (PRODUCT.md §3):
 * a name without dots, operator access enabled and ready, a token Secret holding a
 * non-empty token, and a URL. Conflicts between control planes are decided per namespace.
 */
export function evaluate(ccp: CoderControlPlane, token: TokenLookup): Verdict {
  const name = ccp.metadata.name;
  const status = ccp.status ?? {};
  if (name.includes('.')) {
    return { eligible: false, reason: 'InvalidName', message: `name "${name}" contains a dot; rename the CoderControlPlane to serve this namespace` };
  }
  if (ccp.spec.operatorAccess?.disabled) {
    return { eligible: false, reason: 'OperatorAccessDisabled', message: 'spec.operatorAccess.disabled is true; coder-k8s has no token to serve this namespace with' };
  }
  if (!status.operatorAccessReady) {
    return { eligible: false, reason: 'OperatorAccessNotReady', message: 'operator access is not ready yet; see the OperatorAccessReady condition' };
  }
  const ref = status.operatorTokenSecretRef;
  if (!ref?.name) {
    return { eligible: false, reason: 'NoOperatorToken', message: 'status.operatorTokenSecretRef is not set' };
  }
  const value = token(ccp.metadata.namespace, ref.name, ref.key ?? DEFAULT_TOKEN_KEY);
  if (value === undefined) {
    return { eligible: false, reason: 'OperatorTokenPending', message: `Secret "${ref.name}" has not been read yet` };
  }
  if (value === null) {
    return { eligible: false, reason: 'OperatorTokenSecretMissing', message: `Secret "${ref.name}" does not exist` };
  }
  if (!value) {
    return { eligible: false, reason: 'OperatorTokenEmpty', message: `Secret "${ref.name}" key "${ref.key ?? DEFAULT_TOKEN_KEY}" is empty or missing` };
  }
  if (!status.url) {
    return { eligible: false, reason: 'NoURL', message: 'status.url is empty: the Coder URL is not known yet' };
  }
  return { eligible: true, reason: 'Eligible', message: `serves namespace ${ccp.metadata.namespace} at ${status.url}` };
}

/** Applies the one-per-namespace rule: two or more otherwise eligible control planes conflict. */
export function resolveNamespace(ccps: readonly CoderControlPlane[], token: TokenLookup): Map<string, Verdict> {
  const verdicts = new Map<string, Verdict>();
  for (const ccp of ccps) verdicts.set(ccp.metadata.name, evaluate(ccp, token));
  const eligible = [...verdicts.entries()].filter(([, v]) => v.eligible).map(([n]) => n).sort();
  if (eligible.length > 1) {
    for (const name of eligible) {
      const others = eligible.filter((n) => n !== name).join(', ');
      verdicts.set(name, { eligible: false, reason: 'Conflict', message: `more than one CoderControlPlane qualifies in this namespace (${eligible.join(', ')}); this one conflicts with ${others}` });
    }
  }
  return verdicts;
}
