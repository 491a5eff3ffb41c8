import type { Backend } from '../storage/context.ts';

/**
 * Which Coder deployment serves a namespace. Static mode pins one; the operator's
 * eligibility cache implements the same interface for many.
 */
export interface BackendResolver {
  /**
   * The backend for a namespace; undefined when no control plane is meant to serve it (an
   * empty namespace); a StatusError when one should but cannot (503 ineligible, 400 ambiguous).
   */
  resolve(namespace: string): Backend | undefined;
  /** Every namespace that currently has a backend, for all-namespaces requests. */
  namespaces(): string[];
  /** Why a namespace that resolves to nothing cannot take new objects, and what to do. */
  unservedMessage(namespace: string): string;
}

export class StaticBackendResolver implements BackendResolver {
  readonly #backend: Backend;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  resolve(namespace: string): Backend | undefined {
    return namespace === this.#backend.namespace ? this.#backend : undefined;
  }

  namespaces(): string[] {
    return [this.#backend.namespace];
  }

  unservedMessage(namespace: string): string {
    return `no Coder deployment serves namespace "${namespace}": this server is pinned to namespace "${this.#backend.namespace}" (--coder-namespace)`;
  }
}
