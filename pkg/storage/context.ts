import type { CoderClient } from '../coder/client.ts';

/** The Coder deployment that serves one Kubernetes namespace. */
export interface Backend {
  readonly namespace: string;
  readonly url: string;
  readonly coder: CoderClient;
}

/** Per-request state a storage needs: where to go, whether to mutate, what to warn about. */
export interface StorageContext {
  readonly backend: Backend;
  readonly dryRun: boolean;
  /** Kubernetes Warning headers to send with the response. */
  readonly warnings: string[];
}
