/**
 * The inverse of error_mapping.ts, for clients: a status code from another Agora service
 * becomes a DomainError of the same kind with the same message, so use cases handle peer
 * failures in domain terms and never see Connect types.
 */
import {Code, ConnectError} from '@connectrpc/connect';
import {ErrorInfoSchema} from '../../../gen/google/rpc/error_details_pb.js';
import {DomainError, type ErrorKind} from '../errors/domain_error.js';

const KIND_OF_CODE: Partial<Record<Code, ErrorKind>> = {
  [Code.InvalidArgument]: 'invalid_argument',
  [Code.NotFound]: 'not_found',
  [Code.AlreadyExists]: 'already_exists',
  [Code.FailedPrecondition]: 'failed_precondition',
  [Code.Aborted]: 'aborted',
  [Code.ResourceExhausted]: 'resource_exhausted',
  [Code.Unavailable]: 'unavailable',
  // A peer that did not answer in time may or may not have acted; callers treat it as
  // an outage and rely on idempotent retries or compensation.
  [Code.DeadlineExceeded]: 'unavailable',
  [Code.Canceled]: 'unavailable',
};

/** Converts an error thrown by a client call; non-RPC errors pass through unchanged. */
export function fromRemote(err: unknown, peer: string): unknown {
  if (!(err instanceof ConnectError)) return err;
  const kind = KIND_OF_CODE[err.code] ?? 'internal';
  const message =
    kind === 'unavailable'
      ? `${peer} unavailable: ${err.rawMessage}`
      : err.rawMessage;
  // The peer's ErrorInfo (reason and facts) travels on, so Order can answer "out of
  // stock: sku, requested, available" as Inventory said it.
  const info = err.findDetails(ErrorInfoSchema)[0];
  return new DomainError(
    kind,
    message,
    {...(info?.metadata ?? {}), peer},
    {cause: err, reason: info?.reason || undefined},
  );
}

/** Runs a client call and converts its error. */
export async function callPeer<T>(
  peer: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw fromRemote(err, peer);
  }
}

/** True for a converted error of the given kind. */
export function isKind(err: unknown, kind: ErrorKind): err is DomainError {
  return err instanceof DomainError && err.kind === kind;
}
