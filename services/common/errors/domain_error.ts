/**
 * Domain errors: what domain and application code throws when a request cannot be done.
 *
 * They carry a `kind` that says what the caller can do about it, and nothing of gRPC:
 * the one table that turns a kind into a status code lives in common/rpc/error_mapping.ts.
 */

/** What a caller can do about an error; maps 1:1 onto a gRPC status code. */
export type ErrorKind =
  | 'invalid_argument' // fix the request
  | 'not_found' // the named thing does not exist (or is not the caller's to see)
  | 'permission_denied' // the caller is known but may not do this
  | 'already_exists' // an id was reused for something else
  | 'failed_precondition' // the system is not in a state that allows this (do not retry as is)
  | 'aborted' // a concurrent change won; retry the whole operation
  | 'resource_exhausted' // a quota or limit was hit
  | 'unavailable' // a dependency is down; retrying later may work
  | 'internal'; // a bug or broken invariant

/** Base class of every error a use case throws on purpose. */
export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** Machine-readable facts for the caller (for example `{sku: "A-1"}`). */
    readonly details: Readonly<Record<string, string>> = {},
    options?: {cause?: unknown; reason?: string},
  ) {
    super(message, options);
    this.name = new.target.name;
    this.reason = options?.reason ?? reasonOf(new.target.name);
  }

  /**
   * What went wrong, for machines: UPPER_SNAKE_CASE, stable, sent to callers as a
   * google.rpc.ErrorInfo reason (OutOfStockError → OUT_OF_STOCK).
   */
  readonly reason: string;
}

function reasonOf(className: string): string {
  const name = className === 'DomainError' ? 'Domain' : className;
  return name
    .replace(/Error$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase();
}

/** The request is malformed in a way the schema rules cannot express. */
export class InvalidArgumentError extends DomainError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('invalid_argument', `${field}: ${message}`, {field});
  }
}

/** A named resource does not exist. */
export class NotFoundError extends DomainError {
  constructor(resource: string, id: string, message?: string) {
    super('not_found', message ?? `${resource} ${id} not found`, {
      resource,
      id,
    });
  }
}

/** The caller may not do this (acting as another customer, say). */
export class PermissionDeniedError extends DomainError {
  constructor(message: string) {
    super('permission_denied', message);
  }
}

/** A client-chosen id was already used for a different request. */
export class IdempotencyConflictError extends DomainError {
  constructor(idField: string, id: string) {
    super(
      'already_exists',
      `${idField} ${id} was already used for a different request; use a new ${idField}`,
      {[idField]: id},
    );
  }
}

/** The state of a resource does not allow the operation. */
export class FailedPreconditionError extends DomainError {
  constructor(message: string, details: Record<string, string> = {}) {
    super('failed_precondition', message, details);
  }
}

/** A concurrent request for the same thing is still in progress, or won a race. */
export class ConcurrentRequestError extends DomainError {
  constructor(message: string, details: Record<string, string> = {}) {
    super('aborted', message, details);
  }
}

/** A downstream system (provider, peer service) could not be reached. */
export class UnavailableError extends DomainError {
  constructor(message: string, options?: {cause?: unknown; reason?: string}) {
    super('unavailable', message, {}, options);
  }
}
