/**
 * The one table that turns errors into RPC status codes.
 *
 * Domain and application code throws DomainError subclasses and never imports Connect;
 * handlers never pick status codes. Anything that is not a DomainError or a ConnectError
 * is a bug: the caller gets INTERNAL with no internals, the log gets the cause.
 */
import {Code, ConnectError} from '@connectrpc/connect';
import {DomainError, type ErrorKind} from '../errors/domain_error.js';

const CODE_OF_KIND: Record<ErrorKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  permission_denied: Code.PermissionDenied,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  aborted: Code.Aborted,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  internal: Code.Internal,
};

/** Converts anything thrown by a handler into the ConnectError the caller receives. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof DomainError) {
    const error = new ConnectError(
      err.message,
      CODE_OF_KIND[err.kind],
      undefined,
      undefined,
      err,
    );
    return error;
  }
  return new ConnectError(
    'internal error; see the service log',
    Code.Internal,
    undefined,
    undefined,
    err,
  );
}

/** True for codes that mean "this is a bug or an outage", worth an error log line. */
export function isServerFault(code: Code): boolean {
  return (
    code === Code.Internal ||
    code === Code.Unknown ||
    code === Code.DataLoss ||
    code === Code.Unimplemented
  );
}
