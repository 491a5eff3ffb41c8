import type { ValidationError } from './types.ts';

/** canceled: the caller gave up (client gone, its deadline passed) before Coder answered. */
export type CoderErrorKind = 'http' | 'network' | 'timeout' | 'canceled';

/**
 * A failed call to Coder. `message`/`detail`/`validations` come from Coder's
 * error envelope; the session token never appears in any field.
 */
export class CoderApiError extends Error {
  readonly kind: CoderErrorKind;
  /** HTTP status, 0 for network failures, timeouts and cancellations. */
  readonly statusCode: number;
  readonly coderMessage: string;
  readonly detail: string;
  readonly validations: ValidationError[];
  readonly retryAfterSeconds: number | undefined;
  /** "METHOD /api/v2/route/{param}", never the concrete path. */
  readonly endpoint: string;
  readonly baseUrl: string;

  constructor(init: {
    kind: CoderErrorKind;
    statusCode: number;
    coderMessage: string;
    detail?: string;
    validations?: ValidationError[];
    retryAfterSeconds?: number | undefined;
    endpoint: string;
    baseUrl: string;
  }) {
    const suffix = init.detail ? `: ${init.detail}` : '';
    super(`coder ${init.endpoint} at ${init.baseUrl}: ${init.statusCode || init.kind}: ${init.coderMessage}${suffix}`);
    this.name = 'CoderApiError';
    this.kind = init.kind;
    this.statusCode = init.statusCode;
    this.coderMessage = init.coderMessage;
    this.detail = init.detail ?? '';
    this.validations = init.validations ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.endpoint = init.endpoint;
    this.baseUrl = init.baseUrl;
  }

  /** Coder message plus detail and validations, the way a user should read them. */
  describe(): string {
    const parts = [this.coderMessage];
    if (this.detail && this.detail !== this.coderMessage) parts.push(this.detail);
    for (const v of this.validations) parts.push(`${v.field}: ${v.detail}`);
    return parts.join('; ');
  }
}

export function isCoderApiError(err: unknown): err is CoderApiError {
  return err instanceof CoderApiError;
}

export function isNotFound(err: unknown): boolean {
  return isCoderApiError(err) && err.statusCode === 404;
}
