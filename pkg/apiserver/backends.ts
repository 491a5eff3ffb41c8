import { serviceUnavailable } from '../api/meta/status-error.ts';
import type { Backend } from '../storage/context.ts';

/**
 * Which Coder deployment serves a namespace. Static mode pins one; the operator's
 * eligibility cache implements the same interface for many.
 */
export interface BackendResolver {
  /** The backend for a namespace; a StatusError (503 none, 400 ambiguous) otherwise. */
  resolve(namespace: string): Backend;
  /** Every namespace that currently has a backend, for all-namespaces requests. */
  namespaces(): string[];
}

export class StaticBackendResolver implements BackendResolver {
  readonly #backend: Backend;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  resolve(namespace: string): Backend {
    if (namespace !== this.#backend.namespace) {
      throw serviceUnavailable(
        `no Coder control plane serves namespace "${namespace}" (this server is pinned to namespace "${this.#backend.namespace}")`,
      );
    }
    return this.#backend;
  }

  namespaces(): string[] {
    return [this.#backend.namespace];
  }
}
