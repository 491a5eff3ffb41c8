import { serviceUnavailable } from '../api/meta/status-error.ts';
import { describeKubeError } from '../kube/errors.ts';
import type { NamespacePhase, NamespacePhases } from '../namespaces/lifecycle.ts';
import type { Backend } from '../storage/context.ts';
import type { BackendResolver } from './backends.ts';

/**
 * What a namespace shows. Only a served namespace reaches Coder; the others are empty:
 * - terminating: being deleted. Its views show nothing and deleting them succeeds without
 *   touching Coder, so deleting a namespace can finish and never deletes Coder data.
 * - absent: the namespace does not exist.
 * - unserved: no control plane is meant to serve it.
 */
export type NamespaceScope = { kind: 'served'; backend: Backend } | { kind: 'terminating' | 'absent' | 'unserved' };

/**
 * Combines the namespace's lifecycle (is it being deleted?) with the backend resolver
 * (which Coder serves it?). The lifecycle comes first: a namespace being deleted is empty
 * whatever state its control plane is in, and whichever of its objects goes first.
 */
export class NamespaceScopes {
  readonly #resolver: BackendResolver;
  readonly #phases: NamespacePhases | undefined;

  /** Without `phases` (no cluster access), every namespace counts as Active. */
  constructor(resolver: BackendResolver, phases?: NamespacePhases) {
    this.#resolver = resolver;
    this.#phases = phases;
  }

  /** `live` confirms an Active namespace with kube-apiserver: for requests that delete. */
  async scope(namespace: string, options: { live?: boolean } = {}): Promise<NamespaceScope> {
    const phase = await this.#phase(namespace, options.live ?? false);
    if (phase === 'Terminating') return { kind: 'terminating' };
    if (phase === 'Absent') return { kind: 'absent' };
    const backend = this.#resolver.resolve(namespace);
    return backend ? { kind: 'served', backend } : { kind: 'unserved' };
  }

  /** The backends of every served namespace, for all-namespaces requests. */
  async served(): Promise<Map<string, Backend>> {
    const out = new Map<string, Backend>();
    for (const namespace of this.#resolver.namespaces()) {
      const scope = await this.scope(namespace);
      if (scope.kind === 'served') out.set(namespace, scope.backend);
    }
    return out;
  }

  /** The namespace's backend right now, without a phase check (for work that outlives a request). */
  current(namespace: string): Backend | undefined {
    try {
      return this.#resolver.resolve(namespace);
    } catch {
      return undefined;
    }
  }

  /** Why a namespace without a control plane cannot take new objects. */
  unservedMessage(namespace: string): string {
    return this.#resolver.unservedMessage(namespace);
  }

  async #phase(namespace: string, live: boolean): Promise<NamespacePhase> {
    if (!this.#phases) return 'Active';
    try {
      return await this.#phases.phase(namespace, { live });
    } catch (err) {
      throw serviceUnavailable(
        `cannot tell whether namespace "${namespace}" is being deleted: ${describeKubeError(err)}`,
      );
    }
  }
}
