/**
 * Serves a Connect `ServiceImpl` on a @grpc/grpc-js server.
 *
 * Why: handlers are written once, fully typed against the generated service, and the
 * same object is mounted here (the fast gRPC port: grpc-js measured 4–5× connect-node's
 * throughput on this hardware) and on the Connect / gRPC-Web edge. Messages are
 * (de)serialized with protobuf-es, so handlers see the same types on both.
 *
 * Every call passes through the same steps as on the edge, in this order: decode (bad
 * bytes are INVALID_ARGUMENT) → the call pipeline (authenticate, authorize, limits,
 * validate: call_pipeline.ts) → handler → map errors through the one table
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
  createContextValues,
  type ContextValues,
  type HandlerContext,
  type ServiceImpl,
} from '@connectrpc/connect';
import {setTrailerStatus} from '@connectrpc/connect/protocol-grpc';
import * as grpc from '@grpc/grpc-js';
import type {Principal} from '../auth/principal.js';
import {serviceOfSan} from '../auth/tls_config.js';
import {PRINCIPAL, type CallPipeline} from './call_pipeline.js';
import {toConnectError} from './error_mapping.js';
import {
  acceptEncoded,
  EncodedResponse,
  LiveFeed,
  pipeLive,
  type LiveCall,
} from './streams.js';

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
      // Decoded by the handler (decodeRequest), where a malformed message can be answered
      // INVALID_ARGUMENT: grpc-js answers a throwing deserializer with INTERNAL.
      requestDeserialize: (b: Buffer) => b as never,
      // Watch streams write events encoded once for every watcher (streams.ts).
      // (A bare Uint8Array is a live event's bytes, written by pipeLive.)
      responseSerialize: (
        m: MessageShape<DescMessage> | EncodedResponse | Uint8Array,
      ) =>
        m instanceof Uint8Array
          ? Buffer.from(m.buffer, m.byteOffset, m.byteLength)
          : m instanceof EncodedResponse
            ? Buffer.from(
                m.bytes.buffer,
                m.bytes.byteOffset,
                m.bytes.byteLength,
              )
            : Buffer.from(toBinary(method.output, m)),
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

/** The request bytes of a call as a message; INVALID_ARGUMENT when they are not one. */
export function decodeRequest(
  method: DescMethod,
  bytes: Buffer,
): MessageShape<DescMessage> {
  try {
    return fromBinary(method.input, bytes);
  } catch {
    throw new ConnectError(
      `the request is not a valid ${method.input.typeName} message`,
      Code.InvalidArgument,
    );
  }
}

function authorizationOf(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  return typeof value === 'string' ? value : undefined;
}

/** The service named by the peer's certificate SAN (mutual TLS), if any. */
function peerServiceOf(call: {
  getAuthContext(): {sslPeerCertificate?: {subjectaltname?: string}};
}): string | undefined {
  return serviceOfSan(call.getAuthContext().sslPeerCertificate?.subjectaltname);
}

interface ServerCallLike {
  cancelled: boolean;
  metadata: grpc.Metadata;
  getDeadline(): grpc.Deadline;
  getPath(): string;
  on(event: 'cancelled', listener: () => void): unknown;
}

/**
 * The HandlerContext of a grpc-js call, built lazily. Connect's createHandlerContext
 * allocates three Headers, two AbortControllers and a deadline timer per call, and links
 * an abort listener to the server's shutdown signal that is never removed; measured, that
 * was a large share of a unary call's CPU. Unary handlers here rarely touch the context,
 * so each part is made only when asked for, and listeners are removed when the call ends.
 */
class GrpcHandlerContext implements HandlerContext {
  readonly protocolName = 'grpc';
  readonly requestMethod = 'POST';
  private controller: AbortController | undefined;
  private headers: Headers | undefined;
  private response: Headers | undefined;
  private trailer: Headers | undefined;
  private contextValues: ContextValues | undefined;
  private readonly deadline: number;
  private detach: (() => void) | undefined;

  constructor(
    readonly service: DescService,
    readonly method: DescMethod,
    private readonly call: ServerCallLike,
    private readonly shutdownSignal: AbortSignal,
    private readonly principal: Principal,
  ) {
    const d = call.getDeadline();
    this.deadline = d instanceof Date ? d.getTime() : Number(d);
  }

  get url(): string {
    return this.call.getPath();
  }

  /** Aborted when the client cancels or the server shuts down. */
  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      const onCancel = () =>
        controller.abort(
          new ConnectError('call cancelled by the client', Code.Canceled),
        );
      const onShutdown = () =>
        controller.abort(
          new ConnectError('server is shutting down', Code.Unavailable),
        );
      this.call.on('cancelled', onCancel);
      this.shutdownSignal.addEventListener('abort', onShutdown);
      this.detach = () =>
        this.shutdownSignal.removeEventListener('abort', onShutdown);
      this.controller = controller;
      // Created lazily: the client may have gone (cancel, deadline) before anyone asked.
      if (this.call.cancelled) onCancel();
    }
    return this.controller.signal;
  }

  readonly timeoutMs = (): number | undefined =>
    Number.isFinite(this.deadline)
      ? Math.max(this.deadline - Date.now(), 0)
      : undefined;

  get requestHeader(): Headers {
    if (!this.headers) {
      this.headers = new Headers();
      for (const [key, value] of Object.entries(this.call.metadata.getMap())) {
        if (typeof value === 'string') this.headers.set(key, value);
      }
    }
    return this.headers;
  }

  get responseHeader(): Headers {
    return (this.response ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.trailer ??= new Headers());
  }

  get values(): ContextValues {
    if (!this.contextValues) {
      this.contextValues = createContextValues();
      this.contextValues.set(PRINCIPAL, this.principal);
    }
    return this.contextValues;
  }

  /** Drops the shutdown listener (call ended). */
  done(): void {
    this.detach?.();
  }
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
  pipeline: CallPipeline,
): void {
  const handlers: grpc.UntypedServiceImplementation = {};
  const impls = impl as Record<string, AnyImpl | undefined>;
  for (const method of service.methods) {
    const fn = impls[method.localName]?.bind(impl) as AnyImpl | undefined;
    const finish = (start: number, error: ConnectError | undefined) =>
      observer.onCallEnd(service, method, performance.now() - start, error);
    if (method.methodKind === 'unary') {
      handlers[method.localName] = (
        call: grpc.ServerUnaryCall<Buffer, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        const start = performance.now();
        const fail = (err: unknown) => {
          const error = toConnectError(err);
          finish(start, error);
          callback(toGrpcStatus(error));
        };
        const serve = (
          handler: AnyImpl,
          request: unknown,
          principal: Principal,
        ) => {
          const ctx = new GrpcHandlerContext(
            service,
            method,
            call,
            shutdownSignal,
            principal,
          );
          Promise.resolve(handler(request, ctx)).then(
            res => {
              ctx.done();
              finish(start, undefined);
              callback(null, create(method.output, res as never));
            },
            err => {
              ctx.done();
              fail(err);
            },
          );
        };
        try {
          if (!fn) throw unimplemented(service, method);
          const request = decodeRequest(method, call.request);
          const admitted = pipeline.admit(
            method,
            authorizationOf(call.metadata),
            request,
            peerServiceOf(call),
          );
          if (admitted instanceof Promise) {
            admitted.then(p => serve(fn, request, p), fail);
          } else {
            serve(fn, request, admitted);
          }
        } catch (err) {
          fail(err);
        }
      };
    } else if (method.methodKind === 'server_streaming') {
      handlers[method.localName] = (
        call: grpc.ServerWritableStream<Buffer, unknown>,
      ) => {
        const start = performance.now();
        void (async () => {
          let ctx: GrpcHandlerContext | undefined;
          let release = () => {};
          try {
            if (!fn) throw unimplemented(service, method);
            const request = decodeRequest(method, call.request);
            const principal = await pipeline.admit(
              method,
              authorizationOf(call.metadata),
              request,
              peerServiceOf(call),
            );
            release = pipeline.openStream(principal);
            ctx = new GrpcHandlerContext(
              service,
              method,
              call,
              shutdownSignal,
              principal,
            );
            acceptEncoded(ctx);
            const stream = fn(request, ctx) as AsyncIterable<unknown>;
            for await (const res of stream) {
              if (call.cancelled) break;
              if (res instanceof LiveFeed) {
                await pipeLive(await liveCallOf(call), res, shutdownSignal);
                continue;
              }
              const message =
                res instanceof EncodedResponse
                  ? res
                  : create(method.output, res as never);
              if (!call.write(message)) {
                // Respect HTTP/2 flow control: a slow watcher must not buffer unbounded.
                // Whichever event comes first, both listeners go: on a long stream the
                // other would otherwise pile up, one per backpressured write.
                await new Promise<void>(resolve => {
                  const done = () => {
                    call.off('drain', done);
                    call.off('cancelled', done);
                    resolve();
                  };
                  call.once('drain', done);
                  call.once('cancelled', done);
                });
              }
            }
            finish(start, undefined);
            if (!call.cancelled) call.end();
          } catch (err) {
            const error = toConnectError(err);
            finish(start, error);
            if (!call.cancelled) call.emit('error', toGrpcStatus(error));
          } finally {
            release();
            ctx?.done();
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

/** Each live event's bytes with gRPC's 5-byte message prefix, made once per event. */
const framed = new WeakMap<Uint8Array, Buffer>();

function grpcFrame(bytes: Uint8Array): Buffer {
  let frame = framed.get(bytes);
  if (!frame) {
    frame = Buffer.allocUnsafe(bytes.byteLength + 5);
    frame.writeUInt8(0, 0); // not compressed
    frame.writeUInt32BE(bytes.byteLength, 1);
    frame.set(bytes, 5);
    framed.set(bytes, frame);
  }
  return frame;
}

/**
 * Where a watch stream's live events are written: straight to the call's HTTP/2 stream
 * when it can be reached, else through grpc-js's call.
 *
 * Why: one event goes to thousands of watchers, and bench:watchers put Inventory's
 * fan-out (≈11,000 writes/s for 2,000 alert and 2,000 stock watchers) at ≈1 CPU-s in
 * every 10 s, most of it per write: grpc-js's Writable, its interceptor chain, and a
 * fresh buffer and copy to frame the same bytes for every watcher. Here the frame is
 * made once per event and each watcher costs one Http2Stream write. grpc-js keeps
 * owning the call: its headers are sent first (sendMetadata), its trailers after the
 * last write (call.end() ends the same stream), and every message grpc-js still holds
 * is flushed before the first direct write, so order is kept. The HTTP/2 stream is
 * grpc-js's private field `stream` (1.14; behind `nextCall` when interceptors are
 * set): if a version moves it, this falls back to the call.
 */
async function liveCallOf(
  call: grpc.ServerWritableStream<Buffer, unknown>,
): Promise<LiveCall> {
  let inner: unknown = (call as unknown as {call?: unknown}).call;
  let stream: Http2Writable | undefined;
  for (let depth = 0; inner && !stream && depth < 8; depth++) {
    const candidate = (inner as {stream?: unknown}).stream;
    if (isHttp2Writable(candidate)) stream = candidate;
    inner = (inner as {nextCall?: unknown}).nextCall;
  }
  if (!stream) return call;
  call.sendMetadata(new grpc.Metadata()); // a no-op once grpc-js has sent headers
  // Messages grpc-js still buffers go first: wait until its Writable is empty (a slow
  // client may hold it for long; the feed meanwhile keeps events in its bounded backlog).
  while (call.writableLength > 0 && !call.cancelled) {
    await new Promise<void>(resolve => setTimeout(resolve, 5));
  }
  const http2 = stream;
  return {
    get cancelled() {
      return call.cancelled || http2.destroyed;
    },
    // A stream the client just reset is ended by 'cancelled'; writing to it would error.
    write: bytes => http2.destroyed || http2.write(grpcFrame(bytes)),
    once: (event, listener) =>
      event === 'drain'
        ? http2.once('drain', listener)
        : call.once('cancelled', listener),
    off: (event, listener) =>
      event === 'drain'
        ? http2.off('drain', listener)
        : call.off('cancelled', listener),
  };
}

/** The part of Node's ServerHttp2Stream that liveCallOf writes through. */
interface Http2Writable {
  readonly destroyed: boolean;
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
  off(event: 'drain', listener: () => void): unknown;
  respond(...args: unknown[]): void;
}

function isHttp2Writable(x: unknown): x is Http2Writable {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as Http2Writable).write === 'function' &&
    typeof (x as Http2Writable).respond === 'function' &&
    'session' in x
  );
}

function unimplemented(service: DescService, method: DescMethod): ConnectError {
  return new ConnectError(
    `${service.typeName}.${method.name} is not implemented yet`,
    Code.Unimplemented,
  );
}
