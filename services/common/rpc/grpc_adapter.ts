/**
 * Serves a Connect `ServiceImpl` on a @grpc/grpc-js server.
 *
 * Why: handlers are written once, fully typed against the generated service, and the
 * same object is mounted here (the fast gRPC port: grpc-js measured 4–5× connect-node's
 * throughput on this hardware) and on the Connect / gRPC-Web edge. Messages are
 * (de)serialized with protobuf-es, so handlers see the same types on both.
 *
 * Every call passes through the same steps, in this order: decode → validate (the
 * protovalidate rules of the request) → handler → map errors through the one table
 * (error_mapping.ts) → observe (log and metrics).
 */
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type DescMethod,
  type DescService,
  type MessageShape,
} from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  createHandlerContext,
  type HandlerContext,
  type ServiceImpl,
} from '@connectrpc/connect';
import {setTrailerStatus} from '@connectrpc/connect/protocol-grpc';
import * as grpc from '@grpc/grpc-js';
import {toConnectError} from './error_mapping.js';
import {validateRequest} from './validation.js';

/** Told about every finished call (logging, metrics). Must not throw. */
export interface CallObserver {
  /** `error` is undefined for a call that ended OK. */
  onCallEnd(
    service: DescService,
    method: DescMethod,
    durationMs: number,
    error: ConnectError | undefined,
  ): void;
}

/** The grpc-js definition of a protobuf-es service: paths and (de)serializers. */
export function grpcServiceDefinition(
  service: DescService,
): grpc.ServiceDefinition {
  const definition: Record<
    string,
    grpc.MethodDefinition<MessageShape<DescMessage>, MessageShape<DescMessage>>
  > = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream:
        method.methodKind === 'client_streaming' ||
        method.methodKind === 'bidi_streaming',
      responseStream:
        method.methodKind === 'server_streaming' ||
        method.methodKind === 'bidi_streaming',
      requestSerialize: (m: MessageShape<DescMessage>) =>
        Buffer.from(toBinary(method.input, m)),
      requestDeserialize: (b: Buffer) => fromBinary(method.input, b),
      responseSerialize: (m: MessageShape<DescMessage>) =>
        Buffer.from(toBinary(method.output, m)),
      responseDeserialize: (b: Buffer) => fromBinary(method.output, b),
      originalName: method.name,
    };
  }
  return definition as grpc.ServiceDefinition;
}

/** Converts a ConnectError into the status grpc-js sends, details included. */
export function toGrpcStatus(error: ConnectError): grpc.ServerErrorResponse {
  const metadata = new grpc.Metadata();
  if (error.details.length > 0) {
    const trailer = setTrailerStatus(new Headers(), error);
    const bin = trailer.get('grpc-status-details-bin');
    if (bin)
      metadata.set('grpc-status-details-bin', Buffer.from(bin, 'base64'));
  }
  return Object.assign(new Error(error.rawMessage), {
    code: error.code as number as grpc.status,
    details: error.rawMessage,
    metadata,
  });
}

interface ServerCallLike {
  metadata: grpc.Metadata;
  getDeadline(): grpc.Deadline;
  getPath(): string;
  on(event: 'cancelled', listener: () => void): unknown;
}

function handlerContext(
  service: DescService,
  method: DescMethod,
  call: ServerCallLike,
  shutdownSignal: AbortSignal,
): HandlerContext & {abort(reason?: unknown): void} {
  const deadline = call.getDeadline();
  const deadlineMs =
    deadline instanceof Date ? deadline.getTime() : Number(deadline);
  const headers = new Headers();
  for (const [key, value] of Object.entries(call.metadata.getMap())) {
    if (typeof value === 'string') headers.set(key, value);
  }
  const ctx = createHandlerContext({
    service,
    method,
    protocolName: 'grpc',
    requestMethod: 'POST',
    url: call.getPath(),
    timeoutMs: Number.isFinite(deadlineMs)
      ? Math.max(deadlineMs - Date.now(), 0)
      : undefined,
    shutdownSignal,
    requestHeader: headers,
  });
  call.on('cancelled', () =>
    ctx.abort(new ConnectError('call cancelled by the client', Code.Canceled)),
  );
  return ctx;
}

type AnyImpl = (req: unknown, ctx: HandlerContext) => unknown;

/**
 * Adds `impl` for `service` to `server`. Methods missing from `impl` answer
 * UNIMPLEMENTED with a message naming the method.
 */
export function addConnectService<S extends DescService>(
  server: grpc.Server,
  service: S,
  impl: Partial<ServiceImpl<S>>,
  observer: CallObserver,
  shutdownSignal: AbortSignal,
): void {
  const handlers: grpc.UntypedServiceImplementation = {};
  const impls = impl as Record<string, AnyImpl | undefined>;
  for (const method of service.methods) {
    const fn = impls[method.localName]?.bind(impl) as AnyImpl | undefined;
    const finish = (start: number, error: ConnectError | undefined) =>
      observer.onCallEnd(service, method, performance.now() - start, error);
    if (method.methodKind === 'unary') {
      handlers[method.localName] = (
        call: grpc.ServerUnaryCall<MessageShape<DescMessage>, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        const start = performance.now();
        const fail = (err: unknown) => {
          const error = toConnectError(err);
          finish(start, error);
          callback(toGrpcStatus(error));
        };
        try {
          if (!fn) throw unimplemented(service, method);
          validateRequest(method.input, call.request);
          const ctx = handlerContext(service, method, call, shutdownSignal);
          Promise.resolve(fn(call.request, ctx)).then(res => {
            finish(start, undefined);
            callback(null, create(method.output, res as never));
          }, fail);
        } catch (err) {
          fail(err);
        }
      };
    } else if (method.methodKind === 'server_streaming') {
      handlers[method.localName] = (
        call: grpc.ServerWritableStream<MessageShape<DescMessage>, unknown>,
      ) => {
        const start = performance.now();
        void (async () => {
          try {
            if (!fn) throw unimplemented(service, method);
            validateRequest(method.input, call.request);
            const ctx = handlerContext(service, method, call, shutdownSignal);
            const stream = fn(call.request, ctx) as AsyncIterable<unknown>;
            for await (const res of stream) {
              if (call.cancelled) break;
              if (!call.write(create(method.output, res as never))) {
                // Respect HTTP/2 flow control: a slow watcher must not buffer unbounded.
                await new Promise<void>(resolve => {
                  call.once('drain', resolve);
                  call.once('cancelled', resolve);
                });
              }
            }
            finish(start, undefined);
            if (!call.cancelled) call.end();
          } catch (err) {
            const error = toConnectError(err);
            finish(start, error);
            if (!call.cancelled) call.emit('error', toGrpcStatus(error));
          }
        })();
      };
    } else {
      throw new Error(
        `${service.typeName}.${method.name}: streaming requests are not supported`,
      );
    }
  }
  server.addService(grpcServiceDefinition(service), handlers);
}

function unimplemented(service: DescService, method: DescMethod): ConnectError {
  return new ConnectError(
    `${service.typeName}.${method.name} is not implemented yet`,
    Code.Unimplemented,
  );
}
