import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * Whether an update is worth a reconcile: controller-runtime's GenerationChangedPredicate
 * (metadata.generation moves with the spec, not with the status subresource), widened to
 * the metadata a reconciler acts on or a user touches to ask for a pass: labels,
 * annotations, finalizers, owner references and the deletion timestamp. So the reconciler's
 * own status writes — and anyone else's status-only updates — start no pass.
 *
 * An add (no previous object) always passes, and so does any update of an object without
 * a generation, whose spec changes could not be told apart.
 */
export function specOrMetadataChanged(previous: KubernetesObject | undefined, next: KubernetesObject): boolean {
  if (!previous) return true;
  const a = previous.metadata ?? {};
  const b = next.metadata ?? {};
  if (a.generation === undefined || b.generation === undefined) return true;
  return (
    a.generation !== b.generation ||
    !sameMap(a.labels, b.labels) ||
    !sameMap(a.annotations, b.annotations) ||
    !sameJSON(a.finalizers ?? [], b.finalizers ?? []) ||
    !sameJSON(a.ownerReferences ?? [], b.ownerReferences ?? []) ||
    timestamp(a.deletionTimestamp) !== timestamp(b.deletionTimestamp)
  );
}

function sameMap(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => a?.[k] === b?.[k]);
}

function sameJSON(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Informer objects carry strings; typed clients give Dates. */
function timestamp(t: Date | string | undefined): string | undefined {
  return t === undefined ? undefined : String(new Date(t).getTime());
}
