/**
 * Request validation from the protovalidate annotations in the .proto files, in one
 * place for both transports, so handlers never re-check the shape of a request.
 */
import type {DescMessage, MessageShape} from '@bufbuild/protobuf';
import {
  createValidator,
  violationsToProto,
  type Validator,
} from '@bufbuild/protovalidate';
import {Code, ConnectError} from '@connectrpc/connect';

let shared: Validator | undefined;

/** The process-wide validator (it caches compiled rules per message type). */
export function requestValidator(): Validator {
  shared ??= createValidator();
  return shared;
}

/**
 * Throws INVALID_ARGUMENT with a message naming each bad field (e.g. "lines[0].quantity:
 * must be greater than 0") and a buf.validate.Violations detail for machines.
 */
export function validateRequest<D extends DescMessage>(
  schema: D,
  message: MessageShape<D>,
  validator: Validator = requestValidator(),
): void {
  const result = validator.validate(schema, message);
  if (result.kind === 'valid') return;
  const details =
    result.kind === 'invalid'
      ? [
          (([value, desc]) => ({desc, value}))(
            violationsToProto(result.violations),
          ),
        ]
      : [];
  // Name every bad field, not just the first ("a: …; b: …"): a client fixing a form
  // wants them all at once.
  const text =
    result.kind === 'invalid'
      ? result.violations.map(v => v.toString()).join('; ')
      : result.error.message;
  throw new ConnectError(
    text,
    result.kind === 'invalid' ? Code.InvalidArgument : Code.Internal,
    undefined,
    details,
    result.error,
  );
}
