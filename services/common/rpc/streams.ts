/**
 * Fan-out of live events to server-streaming RPCs (watch calls).
 *
 * An event is turned into its response bytes once, however many watch it (fanOut), and
 * the same bytes are written to every watcher on the gRPC port (EncodedResponse): 2,000
 * watchers cost one encode per event, not 2,000 decodes and 2,000 encodes. Each watcher
 * holds at most a bounded number of events not yet sent (streamOf, LiveFeed), then its
 * stream ends with RESOURCE_EXHAUSTED, so a slow reader cannot pin memory.
 *
 * On the gRPC port a watcher's live events do not pass through async iteration at all
 * (liveEvents → LiveFeed): the adapter writes each event's bytes to the call from the
 * hub's publish, so an event costs one write per watcher, not two async generator steps,
 * three promises and a wrapper object per watcher (bench:watchers measured the
 * difference; see the README).
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
 * someone watches), for every watcher to share. `keyOf` names each frame's key (a SKU,
 * a customer): a watcher of some keys is handed only their frames, and an event costs
 * nothing for the watchers of other keys.
 */
export function fanOut<T, F>(
  subscribe: (push: (event: T) => void) => unknown,
  frame: (event: T) => F,
  keyOf: (frame: F) => string = () => '',
): KeyedHub<F> {
  const hub = new KeyedHub<F>(keyOf);
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
 * Delivers each published value to the subscribers of its key and to those of every
 * key, looking up the key once instead of asking each of thousands of watchers.
 */
export class KeyedHub<T> {
  private readonly everyKey = new Set<(value: T) => void>();
  private readonly byKey = new Map<string, Set<(value: T) => void>>();
  private subscriptions = 0;

  constructor(private readonly keyOf: (value: T) => string) {}

  publish(value: T): void {
    for (const s of this.everyKey) s(value);
    const subscribers = this.byKey.get(this.keyOf(value));
    if (subscribers) for (const s of subscribers) s(value);
  }

  /** `fn` gets the values of `keys` (each once), or of every key when none are given. */
  subscribe(fn: (value: T) => void, keys?: Iterable<string>): () => void {
    const wanted = keys === undefined ? undefined : [...new Set(keys)];
    if (wanted === undefined) this.everyKey.add(fn);
    else {
      for (const key of wanted) {
        let set = this.byKey.get(key);
        if (!set) this.byKey.set(key, (set = new Set()));
        set.add(fn);
      }
    }
    this.subscriptions++;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.subscriptions--;
      if (wanted === undefined) {
        this.everyKey.delete(fn);
        return;
      }
      for (const key of wanted) {
        const set = this.byKey.get(key);
        set?.delete(fn);
        if (set?.size === 0) this.byKey.delete(key);
      }
    };
  }

  /** Open subscriptions. */
  get size(): number {
    return this.subscriptions;
  }
}

/**
 * A watcher's live events on the gRPC port: subscribed when made, so nothing published
 * between the subscription and the stream reaching its live part (a snapshot read in
 * between) is missed; held until the adapter attaches its writer (grpc_adapter.ts), then
 * handed to it as they are published.
 */
export class LiveFeed {
  private held: Uint8Array[] | undefined = [];
  private sink: ((bytes: Uint8Array) => void) | undefined;
  private readonly unsubscribe: () => void;
  private closed = false;
  /** Set when more than `maxBuffered` events were held before the writer attached. */
  overflowed = false;

  constructor(
    subscribe: (push: (bytes: Uint8Array) => void) => () => void,
    readonly maxBuffered: number,
  ) {
    this.unsubscribe = subscribe(bytes => {
      if (this.sink) this.sink(bytes);
      else if (this.held && this.held.length < maxBuffered)
        this.held.push(bytes);
      else this.overflowed = true;
    });
  }

  /** Hands the events held so far, then every later one, to `sink`. */
  attach(sink: (bytes: Uint8Array) => void): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.sink = sink;
    for (const bytes of held) sink(bytes);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.held = undefined;
    this.sink = undefined;
    this.unsubscribe();
  }
}

/** What pipeLive needs of a server-streaming call (grpc-js's ServerWritableStream). */
export interface LiveCall {
  readonly cancelled: boolean;
  /** False when the stream's buffer is full: wait for 'drain'. */
  write(bytes: Uint8Array): boolean;
  once(event: 'drain' | 'cancelled', listener: () => void): unknown;
  off(event: 'drain' | 'cancelled', listener: () => void): unknown;
}

/**
 * Writes `feed`'s events to `call` as they are published, until the client cancels or
 * the server shuts down (then it resolves and the stream ends OK, as a finished watch
 * does). It respects HTTP/2 flow control: while the call does not drain, events wait in
 * a bounded backlog; past it the stream fails with RESOURCE_EXHAUSTED.
 */
export function pipeLive(
  call: LiveCall,
  feed: LiveFeed,
  shutdownSignal: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let backlog: Uint8Array[] | undefined;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      feed.close();
      call.off('cancelled', onEnd);
      call.off('drain', onDrain);
      shutdownSignal.removeEventListener('abort', onEnd);
      if (err) reject(err);
      else resolve();
    };
    const overflow = () =>
      finish(
        new ConnectError(
          `watcher fell more than ${feed.maxBuffered} events behind; reconnect`,
          Code.ResourceExhausted,
        ),
      );
    const write = (bytes: Uint8Array) => {
      if (backlog) {
        if (backlog.length >= feed.maxBuffered) overflow();
        else backlog.push(bytes);
      } else if (!call.write(bytes)) {
        backlog = [];
        call.once('drain', onDrain);
      }
    };
    const blocked = () => backlog !== undefined;
    const onDrain = () => {
      const waiting = backlog ?? [];
      backlog = undefined;
      let i = 0;
      while (i < waiting.length && !blocked()) write(waiting[i++]);
      // Blocked again: the rest wait, in order, ahead of anything newer.
      if (i < waiting.length) backlog = waiting.slice(i).concat(backlog ?? []);
    };
    const onEnd = () => finish();
    if (feed.overflowed || call.cancelled || shutdownSignal.aborted) {
      if (feed.overflowed) overflow();
      else finish();
      return;
    }
    call.once('cancelled', onEnd);
    shutdownSignal.addEventListener('abort', onEnd);
    feed.attach(write);
  });
}

/** A watcher's live events, to `yield*` from a watch handler; close() when it ends. */
export interface LiveEvents<T> extends AsyncIterable<T> {
  close(): void;
}

/**
 * The live part of a watch stream: each value `subscribe` pushes is a response already
 * encoded with `schema`. Subscribes now (see LiveFeed). On the gRPC port it yields one
 * LiveFeed, which the adapter writes from directly; on the Connect / gRPC-Web edge it
 * yields each response decoded, through a bounded queue (streamOf).
 */
export function liveEvents<D extends DescMessage>(
  ctx: HandlerContext,
  schema: D,
  subscribe: (push: (bytes: Uint8Array) => void) => () => void,
  maxBuffered = MAX_WATCHER_BACKLOG,
): LiveEvents<MessageInitShape<D>> {
  if (writesEncoded.has(ctx)) {
    const feed = new LiveFeed(subscribe, maxBuffered);
    return {
      async *[Symbol.asyncIterator]() {
        yield feed as unknown as MessageInitShape<D>;
      },
      close: () => feed.close(),
    };
  }
  const queue = streamOf(subscribe, ctx.signal, maxBuffered);
  return {
    async *[Symbol.asyncIterator]() {
      for await (const bytes of queue)
        yield fromBinary(schema, bytes) as MessageInitShape<D>;
    },
    close: () => void queue.return(),
  };
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
