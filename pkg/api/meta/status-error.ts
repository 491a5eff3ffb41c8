import type { Status, StatusCause, StatusDetails } from './types.ts';

/** A failure the API server answers with a metav1.Status of the same code and reason. */
export class StatusError extends Error {
  readonly status: Status;

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'StatusError';
    this.status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
      ...(details ? { details } : {}),
    };
  }

  get code(): number {
    return this.status.code;
  }

  get reason(): string {
    return this.status.reason ?? '';
  }
}

/** Identifies the resource a failure is about, as Kubernetes messages name it. */
export interface ResourceRef {
  group: string;
  resource: string;
  kind: string;
  name?: string;
}

function qualified(ref: ResourceRef): string {
  return ref.group ? `${ref.resource}.${ref.group}` : ref.resource;
}

function details(ref: ResourceRef, extra?: StatusDetails): StatusDetails {
  return { group: ref.group, kind: ref.resource, ...(ref.name ? { name: ref.name } : {}), ...extra };
}

export function notFound(ref: ResourceRef, message?: string): StatusError {
  return new StatusError(404, 'NotFound', message ?? `${qualified(ref)} "${ref.name ?? ''}" not found`, details(ref));
}

/** What kube-apiserver answers for requests into a namespace that does not exist. */
export function namespaceNotFound(namespace: string): StatusError {
  return notFound({ group: '', resource: 'namespaces', kind: 'Namespace', name: namespace });
}

/** What kube-apiserver's NamespaceLifecycle admission answers for new objects in a namespace being deleted. */
export function namespaceTerminating(ref: ResourceRef, namespace: string): StatusError {
  const why = `unable to create new content in namespace ${namespace} because it is being terminated`;
  return new StatusError(
    403,
    'Forbidden',
    `${qualified(ref)} "${ref.name ?? ''}" is forbidden: ${why}`,
    details(ref, { causes: [{ type: 'NamespaceTerminating', field: 'metadata.namespace', message: why }] }),
  );
}

export function alreadyExists(ref: ResourceRef, message?: string): StatusError {
  return new StatusError(409, 'AlreadyExists', message ?? `${qualified(ref)} "${ref.name ?? ''}" already exists`, details(ref));
}

/** 409 Conflict; with retryAfterSeconds when the conflict is expected to clear by itself (a build finishing). */
export function conflict(ref: ResourceRef, why: string, retryAfterSeconds?: number): StatusError {
  return new StatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(ref)} "${ref.name ?? ''}": ${why}`,
    details(ref, retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined),
  );
}

export const STALE_RESOURCE_VERSION =
  'the object has been modified; please apply your changes to the latest version and try again';

/** 422 Invalid, one cause per offending field (FieldValueInvalid, FieldValueRequired, ...). */
export function invalid(ref: ResourceRef, causes: StatusCause[]): StatusError {
  const summary = causes.map((c) => (c.field ? `${c.field}: ${c.message ?? ''}` : (c.message ?? ''))).join(', ');
  return new StatusError(
    422,
    'Invalid',
    `${ref.kind}.${ref.group} "${ref.name ?? ''}" is invalid: ${summary}`,
    details({ ...ref, resource: ref.kind }, { causes }),
  );
}

export function fieldInvalid(field: string, message: string): StatusCause {
  return { type: 'FieldValueInvalid', field, message };
}

export function fieldRequired(field: string, message = 'Required value'): StatusCause {
  return { type: 'FieldValueRequired', field, message };
}

export function fieldForbidden(field: string, message: string): StatusCause {
  return { type: 'FieldValueForbidden', field, message };
}

export function badRequest(message: string, causes?: StatusCause[]): StatusError {
  return new StatusError(400, 'BadRequest', message, causes ? { causes } : undefined);
}

export function unauthorized(message = 'Unauthorized'): StatusError {
  return new StatusError(401, 'Unauthorized', message);
}

export function forbidden(message: string, ref?: ResourceRef): StatusError {
  return new StatusError(403, 'Forbidden', message, ref ? details(ref) : undefined);
}

export function methodNotAllowed(message: string): StatusError {
  return new StatusError(405, 'MethodNotAllowed', message);
}

export function notAcceptable(message: string): StatusError {
  return new StatusError(406, 'NotAcceptable', message);
}

export function unsupportedMediaType(message: string): StatusError {
  return new StatusError(415, 'UnsupportedMediaType', message);
}

export function requestEntityTooLarge(message: string): StatusError {
  return new StatusError(413, 'RequestEntityTooLarge', message);
}

export function tooManyRequests(message: string, retryAfterSeconds?: number): StatusError {
  return new StatusError(429, 'TooManyRequests', message, retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined);
}

export function internalError(message: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`);
}

export function serviceUnavailable(message: string, retryAfterSeconds?: number): StatusError {
  return new StatusError(
    503,
    'ServiceUnavailable',
    message,
    retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined,
  );
}

/** 410 Gone, reason Expired: the resourceVersion is outside the window; list again. */
export function expired(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

export function timeout(message: string): StatusError {
  return new StatusError(504, 'Timeout', message);
}

export function successStatus(ref: ResourceRef, uid?: string): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    code: 200,
    details: details(ref, uid ? { uid } : undefined),
  };
}
