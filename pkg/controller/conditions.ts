import type { Condition } from '../api/coder/v1alpha1/types.ts';

export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * Sets a condition the way meta.SetStatusCondition does: lastTransitionTime only moves
 * when the status changes, so rewriting the same verdict does not churn the object.
 */
export function setCondition(conditions: readonly Condition[], input: ConditionInput, generation: number | undefined, now = new Date()): Condition[] {
  const existing = conditions.find((c) => c.type === input.type);
  const lastTransitionTime =
    existing && existing.status === input.status ? existing.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const next: Condition = { ...input, lastTransitionTime, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
  return [...conditions.filter((c) => c.type !== input.type), next].sort((a, b) => a.type.localeCompare(b.type));
}
