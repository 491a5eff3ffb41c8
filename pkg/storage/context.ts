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
  /**
   * The namespace's backend now. Work that outlives the request (background template
   * promotion) asks each time: the client may be replaced (a renewed token, a new URL)
   * while it runs. Absent: the backend never changes (static mode, tests).
   */
  readonly backendNow?: () => Backend | undefined;
  readonly dryRun: boolean;
  /** Kubernetes Warning headers to send with the response. */
  readonly warnings: string[];
}

/** The namespace's Coder client at each call, for work that outlives its request. */
export function currentCoder(ctx: StorageContext): () => CoderClient {
  return () => {
    if (!ctx.backendNow) return ctx.backend.coder;
    const now = ctx.backendNow();
    if (!now) throw new Error(`namespace "${ctx.backend.namespace}" is no longer served; its background work stops`);
    return now.coder;
  };
}
