/**
 * Fan-out of live events to server-streaming RPCs (watch calls).
 */
import {Code, ConnectError} from '@connectrpc/connect';

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
  maxBuffered = 10_000,
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
