/**
 * Request validation from the protovalidate annotations in the .proto files, in one
 * place for both transports, so handlers never re-check the shape of a request.
 */
import {
  ScalarType,
  type DescField,
  type DescMessage,
  type MessageShape,
} from '@bufbuild/protobuf';
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

/** Violations named in the message; the rest are counted ("… and 140 more"). */
const MAX_NAMED = 5;
/** Violations sent in the machine-readable detail. */
const MAX_DETAILED = 20;
/** Longest single violation text in the message. */
const MAX_VIOLATION_CHARS = 200;

/**
 * Throws INVALID_ARGUMENT with a message naming the bad fields (e.g. "lines[0].quantity:
 * must be greater than 0") and a buf.validate.Violations detail for machines. Both are
 * bounded: a request with a thousand bad lines gets a message of a few hundred
 * characters, not one that outgrows the gRPC trailer and breaks the client.
 *
 * A NUL character in any string is refused here too: PostgreSQL cannot store it, so it
 * would otherwise surface as INTERNAL from deep inside a handler.
 */
export function validateRequest<D extends DescMessage>(
  schema: D,
  message: MessageShape<D>,
  validator: Validator = requestValidator(),
): void {
  const nul = findNul(schema, message as Record<string, unknown>, '');
  if (nul !== undefined) {
    throw new ConnectError(
      `${nul}: must not contain a NUL character`,
      Code.InvalidArgument,
    );
  }
  const result = validator.validate(schema, message);
  if (result.kind === 'valid') return;
  if (result.kind !== 'invalid') {
    throw new ConnectError(
      result.error.message,
      Code.Internal,
      undefined,
      [],
      result.error,
    );
  }
  const violations = result.violations;
  const [value, desc] = violationsToProto(violations.slice(0, MAX_DETAILED));
  // Name the bad fields, not just the first ("a: …; b: …"): a client fixing a form
  // wants them at once; past a handful, the count says the rest.
  const named = violations
    .slice(0, MAX_NAMED)
    .map(v => truncate(v.toString(), MAX_VIOLATION_CHARS));
  const more =
    violations.length > MAX_NAMED
      ? `; … and ${violations.length - MAX_NAMED} more`
      : '';
  throw new ConnectError(
    named.join('; ') + more,
    Code.InvalidArgument,
    undefined,
    [{desc, value}],
    result.error,
  );
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The path of the first string field holding a NUL character, if any. */
function findNul(
  schema: DescMessage,
  message: Record<string, unknown>,
  prefix: string,
): string | undefined {
  for (const field of schema.fields) {
    const value = message[field.localName];
    const path = prefix + field.name;
    const found = nulIn(field, value, path);
    if (found !== undefined) return found;
  }
  for (const oneof of schema.oneofs) {
    const chosen = message[oneof.localName] as
      {case?: string; value?: unknown} | undefined;
    const field = oneof.fields.find(f => f.localName === chosen?.case);
    if (field) {
      const found = nulIn(field, chosen?.value, prefix + field.name);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function nulIn(
  field: DescField,
  value: unknown,
  path: string,
): string | undefined {
  switch (field.fieldKind) {
    case 'scalar':
      return field.scalar === ScalarType.STRING &&
        typeof value === 'string' &&
        value.includes('\0')
        ? path
        : undefined;
    case 'message':
      return value
        ? findNul(field.message, value as Record<string, unknown>, `${path}.`)
        : undefined;
    case 'list': {
      const items = value as unknown[];
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (field.listKind === 'scalar') {
          if (
            field.scalar === ScalarType.STRING &&
            typeof item === 'string' &&
            item.includes('\0')
          )
            return `${path}[${i}]`;
        } else if (field.listKind === 'message') {
          const found = findNul(
            field.message,
            item as Record<string, unknown>,
            `${path}[${i}].`,
          );
          if (found !== undefined) return found;
        }
      }
      return undefined;
    }
    case 'map':
      for (const [k, v] of Object.entries(value as object)) {
        if (k.includes('\0') || (typeof v === 'string' && v.includes('\0')))
          return `${path}[${JSON.stringify(k.replace(/\0/g, ''))}]`;
      }
      return undefined;
    default:
      return undefined;
  }
}
