// Error envelope helpers. Handlers throw ApiError; the server turns it into
// coderd's `{message, detail?, validations?}` body so every error path looks
// the same as httpapi.Write in coderd.
import type { CoderResponse, ValidationError } from '../../../pkg/coder/types.ts';

export const MESSAGES = {
  notFound: 'Resource not found or you do not have access to this resource',
  forbidden: 'Forbidden.',
  forbiddenDetail:
    "You don't have permission to view this content. If you believe this is a mistake, please contact your administrator or try signing in with different credentials.",
  signedOut: 'You are signed out or your session has expired. Please sign in again to continue.',
  routeNotFound: 'Route not found.',
  invalidJSON: 'Request body must be valid JSON.',
  validationFailed: 'Validation failed.',
  invalidQueryParams: 'Query parameters have invalid values.',
  internal: 'An internal server error occurred.',
} as const;

export interface ApiErrorExtra {
  detail?: string;
  validations?: ValidationError[];
  headers?: Record<string, string>;
}

/** An HTTP error answered with coderd's JSON error envelope. */
export class ApiError extends Error {
  readonly status: number;
  readonly body: CoderResponse;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, extra: ApiErrorExtra = {}) {
    super(message);
    this.status = status;
    this.body = errorBody(message, extra.detail, extra.validations);
    this.headers = extra.headers ?? {};
  }
}

/** Builds a Response envelope, omitting empty `detail`/`validations` like Go's omitempty. */
export function errorBody(message: string, detail?: string, validations?: ValidationError[]): CoderResponse {
  const body: CoderResponse = { message };
  if (detail) body.detail = detail;
  if (validations && validations.length > 0) body.validations = validations;
  return body;
}

export function notFound(): ApiError {
  return new ApiError(404, MESSAGES.notFound);
}

export function forbidden(): ApiError {
  return new ApiError(403, MESSAGES.forbidden, { detail: MESSAGES.forbiddenDetail });
}

export function badRequest(message: string, validations?: ValidationError[], detail?: string): ApiError {
  return new ApiError(400, message, { validations, detail });
}

/** The go-playground/validator failure coderd reports for struct tags. */
export function tagFailure(field: string, tag: string, value: unknown): ValidationError {
  return { field, detail: `Validation failed for tag "${tag}" with value: "${String(value)}"` };
}

export function validationFailed(validations: ValidationError[]): ApiError {
  return new ApiError(400, MESSAGES.validationFailed, { validations });
}

export function invalidJSON(detail: string): ApiError {
  return new ApiError(400, MESSAGES.invalidJSON, { detail });
}

export function invalidUUID(value: string): ApiError {
  return new ApiError(400, `Invalid UUID "${value}".`, {
    detail: `invalid UUID length: ${value.length}`,
  });
}

/** Default message used when a knob injects a status without a body. */
export function defaultMessageFor(status: number): string {
  switch (status) {
    case 401:
      return MESSAGES.signedOut;
    case 403:
      return MESSAGES.forbidden;
    case 404:
      return MESSAGES.notFound;
    case 500:
      return MESSAGES.internal;
    default:
      return `Injected failure (HTTP ${status}).`;
  }
}
