/**
 * The one table that turns errors into RPC status codes.
 *
 * Domain and application code throws DomainError subclasses and never imports Connect;
 * handlers never pick status codes. A dependency that failed (PostgreSQL or Redis
 * unreachable, a time bound expired: dependency_failure.ts) is UNAVAILABLE or
 * DEADLINE_EXCEEDED, with a message that names no address or statement. Anything else
 * that is not a DomainError or a ConnectError is a bug: the caller gets INTERNAL with no
 * internals, the log gets the cause.
 */
import {create} from '@bufbuild/protobuf';
import {Code, ConnectError} from '@connectrpc/connect';
import {ErrorInfoSchema} from '../../../gen/google/rpc/error_details_pb.js';
import {DomainError, type ErrorKind} from '../errors/domain_error.js';
import {dependencyFailure, withoutAddresses} from './dependency_failure.js';

/** The google.rpc.ErrorInfo domain of every Agora error. */
export const ERROR_DOMAIN = 'agora';
/** Bounds what one detail value may add to the trailer. */
const MAX_DETAIL_CHARS = 256;

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
  // An internal DomainError may wrap a dependency's failure; its kind is no better guess.
  if (!(err instanceof DomainError) || err.kind === 'internal') {
    const failure = dependencyFailure(err);
    if (failure) {
      return new ConnectError(
        failure.message,
        failure.code,
        undefined,
        undefined,
        err,
      );
    }
  }
  if (err instanceof DomainError) {
    // The machine-readable facts as a standard detail, so any gRPC or Connect client can
    // read them (out of stock: sku, requested, available).
    const metadata = Object.fromEntries(
      Object.entries(err.details).map(([k, v]) => [
        k,
        withoutAddresses(v).slice(0, MAX_DETAIL_CHARS),
      ]),
    );
    const details =
      err.kind === 'internal'
        ? []
        : [
            {
              desc: ErrorInfoSchema,
              value: create(ErrorInfoSchema, {
                reason: err.reason,
                domain: ERROR_DOMAIN,
                metadata,
              }),
            },
          ];
    return new ConnectError(
      // A peer's outage relayed in a message ("inventory unavailable: connect
      // ECONNREFUSED 127.0.0.1:…") must not show the mesh's addresses to callers.
      withoutAddresses(err.message),
      CODE_OF_KIND[err.kind],
      undefined,
      details,
      err,
    );
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
