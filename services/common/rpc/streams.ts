/**
 * Fan-out of live events to server-streaming RPCs (watch calls).
 *
 * An event is turned into its response bytes once, however many watch it (fanOut), and
 * the same bytes are written to every watcher on the gRPC port (EncodedResponse): 2,000
 * watchers cost one encode per event, not 2,000 decodes and 2,000 encodes. Each watcher
 * holds at most a bounded number of events not yet sent (streamOf), then its stream ends
 * with RESOURCE_EXHAUSTED, so a slow reader cannot pin memory.
 */
import {
  fromBinary,
  type DescMessage,
  type MessageInitShape,
} from '@bufbuild/protobuf';
import {Code, ConnectError, type HandlerContext} from '@connectrpc/connect';

/** Events a watcher may fall behind by before its stream is ended. */
export const MAX_WATCHER_BACKLOG = 1000;

/** A response already encoded; the gRPC port writes its bytes as they are. */
export class EncodedResponse {
  constructor(readonly bytes: Uint8Array) {}
}

/** Told whether a handler context belongs to the gRPC port (grpc_adapter.ts). */
const writesEncoded = new WeakSet<object>();

/** Marks `ctx` as one that writes EncodedResponse bytes unchanged. */
export function acceptEncoded(ctx: object): void {
  writesEncoded.add(ctx);
}

/**
 * The response to yield for pre-encoded `bytes`: the bytes themselves on the gRPC port;
 * decoded on the Connect / gRPC-Web edge, whose library encodes every message itself.
 */
export function encodedResponse<D extends DescMessage>(
  ctx: HandlerContext,
  schema: D,
  bytes: Uint8Array,
): MessageInitShape<D> {
  return writesEncoded.has(ctx)
    ? (new EncodedResponse(bytes) as unknown as MessageInitShape<D>)
    : (fromBinary(schema, bytes) as MessageInitShape<D>);
}

/**
 * A hub of frames made from `subscribe`'s events, each made once (and only while
 * someone watches), for every watcher to share.
 */
export function fanOut<T, F>(
  subscribe: (push: (event: T) => void) => unknown,
  frame: (event: T) => F,
): Hub<F> {
  const hub = new Hub<F>();
  subscribe(event => {
    if (hub.size > 0) hub.publish(frame(event));
  });
  return hub;
}

/** Delivers each published value to every current subscriber. */
export class Hub<T> {
  private readonly subscribers = new Set<(value: T) => void>();

  publish(value: T): void {
    for (const s of this.subscribers) s(value);
  }

  subscribe(fn: (value: T) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  get size(): number {
    return this.subscribers.size;
  }
}

/**
 * Turns a subscription into an async iterable that ends when `signal` aborts (client
 * gone, server shutting down). A watcher that falls more than `maxBuffered` events
 * behind is cut off with RESOURCE_EXHAUSTED rather than buffering without bound; it can
 * reconnect and read the current state again.
 */
export function streamOf<T>(
  subscribe: (push: (value: T) => void) => () => void,
  signal: AbortSignal,
  maxBuffered = MAX_WATCHER_BACKLOG,
): AsyncIterableIterator<T> & {return(): Promise<IteratorResult<T>>} {
  // Subscribe now, not on the first next(): callers read a snapshot after this returns
  // and must not miss a change made in between.
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let overflow = false;
  let closed = false;
  const unsubscribe = subscribe(value => {
    if (queue.length >= maxBuffered) overflow = true;
    else queue.push(value);
    wake?.();
  });
  const close = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
    wake?.();
  };
  const onAbort = () => close();
  signal.addEventListener('abort', onAbort);
  if (signal.aborted) close();
  const done = {done: true, value: undefined} as IteratorResult<T>;
  const iterator = {
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        if (overflow) {
          close();
          throw new ConnectError(
            `watcher fell more than ${maxBuffered} events behind; reconnect`,
            Code.ResourceExhausted,
          );
        }
        if (queue.length > 0) return {done: false, value: queue.shift() as T};
        if (closed) return done;
        await new Promise<void>(resolve => (wake = resolve));
        wake = undefined;
      }
    },
    /** Ends the stream and drops the subscription (also called by `for await` exits). */
    async return(): Promise<IteratorResult<T>> {
      close();
      return done;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
