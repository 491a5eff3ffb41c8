/** client-node's ApiException, recognised by shape so this file does not load the client. */
interface ApiExceptionShape {
  code: number;
  body: unknown;
}

function isApiException(err: unknown): err is ApiExceptionShape {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number' && 'body' in err;
}

/**
 * One line for a failed Kubernetes API call: `HTTP 403: <the Status message>` instead of
 * client-node's multi-line text with the escaped body and every response header.
 */
export function describeKubeError(err: unknown): string {
  if (isApiException(err)) {
    const body: unknown = err.body;
    let message = typeof body === 'string' ? body : JSON.stringify(body);
    try {
      const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown };
      if (typeof status.message === 'string') message = status.message;
    } catch {
      // not JSON: keep the raw body
    }
    return `HTTP ${String(err.code)}: ${message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A Kubernetes API call failed because the object does not exist. */
export function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 404;
}

/** A Kubernetes API call failed on a conflict: a stale resourceVersion, or the object already exists. */
export function isConflict(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 409;
}
