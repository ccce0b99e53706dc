/**
 * A typed client over @grpc/grpc-js that has the shape of a Connect `Client<S>`.
 *
 * Why not Connect's own gRPC transport: service-to-service calls are on the hot path of
 * every order, grpc-js is the faster stack here, and OpenTelemetry instruments it
 * automatically. Why the Connect shape: use cases depend on `Client<S>`, so tests can
 * hand them an in-memory `createRouterTransport` client instead of a network.
 *
 * Errors come back as ConnectError with the server's code, message and details.
 * UNAVAILABLE is retried with backoff: every mutating Agora call carries a client-chosen
 * id and is idempotent, so a retry never applies twice.
 */
import {
  fromBinary,
  toBinary,
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  type MessageShape,
} from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  type CallOptions,
  type Client,
} from '@connectrpc/connect';
import {findTrailerError} from '@connectrpc/connect/protocol-grpc';
import * as grpc from '@grpc/grpc-js';
import {outgoingTimeoutMs} from './call_deadline.js';

export interface GrpcClientOptions {
  /** Deadline of each attempt when the caller gives none. */
  defaultTimeoutMs?: number;
  /** Extra attempts after UNAVAILABLE (connection refused, server draining). */
  retries?: number;
  /**
   * The `authorization` value sent with every call unless the call sets its own (a
   * service's identity token, a test's admin token). Asked on each call: tokens rotate.
   */
  authorization?: () => string;
  /** Mutual TLS: the CA to trust and the certificate (and key) to present. */
  tls?: {ca: Buffer; cert: Buffer; key: Buffer};
}

/** A Client<S> plus close(). */
export type ClosableClient<S extends DescService> = Client<S> & {
  close(): void;
};

/** Creates a client for `service` at `address` (host:port, plaintext h2c). */
export function createGrpcClient<S extends DescService>(
  service: S,
  address: string,
  options: GrpcClientOptions = {},
): ClosableClient<S> {
  const credentials = options.tls
    ? grpc.credentials.createSsl(
        options.tls.ca,
        options.tls.key,
        options.tls.cert,
      )
    : grpc.credentials.createInsecure();
  const channel = new grpc.Client(address, credentials, {
    // Keep one HTTP/2 connection warm between services and notice dead peers fast.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.enable_retries': 0,
  });
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
  const metadataOf = (headers: CallOptions['headers']) =>
    toMetadata(headers, options.authorization);
  const retries = options.retries ?? 3;
  const client: Record<string, unknown> = {
    close: () => channel.close(),
  };
  for (const method of service.methods) {
    const path = `/${service.typeName}/${method.name}`;
    const serialize = (m: MessageShape<DescMessage>) =>
      Buffer.from(toBinary(method.input, m));
    const deserialize = (b: Buffer) => fromBinary(method.output, b);
    if (method.methodKind === 'unary') {
      client[method.localName] = async (
        request: unknown,
        callOptions: CallOptions = {},
      ) => {
        const message = create(method.input, request as never);
        for (let attempt = 0; ; attempt++) {
          // Within the incoming call's deadline (call_deadline.ts), less a margin; a
          // caller whose time is up gets DEADLINE_EXCEEDED without a call being made.
          const timeoutMs = outgoingTimeoutMs(
            callOptions.timeoutMs ?? defaultTimeoutMs,
          );
          if (timeoutMs <= 0) {
            throw new ConnectError(
              `${method.name} not called: the caller's deadline has passed`,
              Code.DeadlineExceeded,
            );
          }
          try {
            return await new Promise((resolve, reject) => {
              const call = channel.makeUnaryRequest(
                path,
                serialize,
                deserialize,
                message,
                metadataOf(callOptions.headers),
                {deadline: Date.now() + timeoutMs},
                (err, res) =>
                  err ? reject(fromGrpcError(err, method)) : resolve(res),
              );
              callOptions.signal?.addEventListener('abort', () =>
                call.cancel(),
              );
            });
          } catch (err) {
            const retryable =
              err instanceof ConnectError &&
              err.code === Code.Unavailable &&
              attempt < retries &&
              !callOptions.signal?.aborted;
            if (!retryable) throw err;
            await sleep(50 * 2 ** attempt);
          }
        }
      };
    } else if (method.methodKind === 'server_streaming') {
      client[method.localName] = (
        request: unknown,
        callOptions: CallOptions = {},
      ) =>
        serverStream(
          channel,
          path,
          serialize,
          deserialize,
          method,
          request,
          callOptions,
          metadataOf(callOptions.headers),
        );
    }
  }
  return client as ClosableClient<S>;
}

async function* serverStream(
  channel: grpc.Client,
  path: string,
  serialize: (m: MessageShape<DescMessage>) => Buffer,
  deserialize: (b: Buffer) => unknown,
  method: DescMethod & {input: DescMessage},
  request: unknown,
  callOptions: CallOptions,
  metadata: grpc.Metadata,
): AsyncIterable<unknown> {
  const call = channel.makeServerStreamRequest(
    path,
    serialize,
    deserialize,
    create(method.input, request as never),
    metadata,
    // Streams are long-lived: only the caller's own timeout applies.
    callOptions.timeoutMs ? {deadline: Date.now() + callOptions.timeoutMs} : {},
  );
  callOptions.signal?.addEventListener('abort', () => call.cancel());
  try {
    for await (const message of call) yield message;
  } catch (err) {
    throw fromGrpcError(err as grpc.ServiceError, method);
  } finally {
    call.cancel();
  }
}

function toMetadata(
  headers: CallOptions['headers'],
  authorization: (() => string) | undefined,
): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (headers) {
    new Headers(headers).forEach((value, key) => metadata.set(key, value));
  }
  if (authorization && metadata.get('authorization').length === 0) {
    metadata.set('authorization', authorization());
  }
  return metadata;
}

/** grpc-js error → ConnectError with the same code, message and details. */
function fromGrpcError(
  err: grpc.ServiceError,
  method: DescMethod,
): ConnectError {
  const bin = err.metadata?.get('grpc-status-details-bin')[0];
  if (bin) {
    const headers = new Headers({
      'grpc-status': String(err.code),
      'grpc-message': encodeURIComponent(err.details ?? ''),
      'grpc-status-details-bin': Buffer.from(bin).toString('base64'),
    });
    const found = findTrailerError(headers);
    if (found) return found;
  }
  return new ConnectError(
    err.details || `${method.name} failed`,
    (err.code ?? Code.Unknown) as number as Code,
    undefined,
    undefined,
    err,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
