import {EventEmitter} from 'node:events';
import {Code} from '@connectrpc/connect';
import {
  fanOut,
  Hub,
  KeyedHub,
  LiveFeed,
  pipeLive,
  streamOf,
  type LiveCall,
} from './streams.js';

describe('fanOut()', () => {
  it('makes each frame once for every watcher, and none while nobody watches', () => {
    const source = new Hub<number>();
    let made = 0;
    const feed = fanOut<number, string>(
      push => source.subscribe(push),
      n => {
        made++;
        return `frame ${n}`;
      },
    );
    source.publish(1);
    expect(made).toBe(0);
    const seen: string[][] = [[], [], []];
    seen.forEach(list => feed.subscribe(f => list.push(f)));
    source.publish(2);
    expect(made).toBe(1);
    expect(seen).toEqual([['frame 2'], ['frame 2'], ['frame 2']]);
  });
});

describe('streamOf()', () => {
  it('ends a watcher that falls too far behind with RESOURCE_EXHAUSTED, holding no more than its bound', async () => {
    const hub = new Hub<number>();
    const stream = streamOf<number>(
      push => hub.subscribe(push),
      new AbortController().signal,
      3,
    );
    for (let i = 0; i < 10; i++) hub.publish(i);
    expect(hub.size).toBe(1);
    await expect(stream.next()).rejects.toMatchObject({
      code: Code.ResourceExhausted,
    });
    // Cut off: unsubscribed, so later events are not kept for it.
    expect(hub.size).toBe(0);
  });

  it('delivers in order and stops when the call is aborted', async () => {
    const hub = new Hub<number>();
    const abort = new AbortController();
    const stream = streamOf<number>(push => hub.subscribe(push), abort.signal);
    hub.publish(1);
    hub.publish(2);
    expect((await stream.next()).value).toBe(1);
    expect((await stream.next()).value).toBe(2);
    abort.abort();
    expect((await stream.next()).done).toBe(true);
    expect(hub.size).toBe(0);
  });
});

/** A server-streaming call whose buffer holds `room` writes until drain() is called. */
class FakeCall extends EventEmitter implements LiveCall {
  cancelled = false;
  readonly written: number[] = [];
  private used = 0;

  constructor(private readonly room: number) {
    super();
  }

  write(bytes: Uint8Array): boolean {
    this.written.push(bytes[0]);
    return ++this.used < this.room;
  }

  drain(): void {
    this.used = 0;
    this.emit('drain');
  }

  cancel(): void {
    this.cancelled = true;
    this.emit('cancelled');
  }
}

describe('pipeLive()', () => {
  const frame = (n: number) => Uint8Array.of(n);

  it('writes what was published before it attached, then each event as published, in order', async () => {
    const hub = new Hub<Uint8Array>();
    const feed = new LiveFeed(push => hub.subscribe(push), 10);
    hub.publish(frame(1));
    hub.publish(frame(2));
    const call = new FakeCall(100);
    const piped = pipeLive(call, feed, new AbortController().signal);
    hub.publish(frame(3));
    expect(call.written).toEqual([1, 2, 3]);
    call.cancel();
    await piped;
    // The client went: unsubscribed, so nothing is kept for it.
    expect(hub.size).toBe(0);
  });

  it('holds events while the call does not drain, sends them in order when it does', async () => {
    const hub = new Hub<Uint8Array>();
    const feed = new LiveFeed(push => hub.subscribe(push), 10);
    const call = new FakeCall(2);
    const piped = pipeLive(call, feed, new AbortController().signal);
    for (let i = 1; i <= 6; i++) hub.publish(frame(i));
    // The second write filled the buffer; 3..6 wait.
    expect(call.written).toEqual([1, 2]);
    call.drain();
    // Two more fit, then it is blocked again with 5 and 6 still waiting ahead of 7.
    hub.publish(frame(7));
    expect(call.written).toEqual([1, 2, 3, 4]);
    call.drain();
    call.drain();
    expect(call.written).toEqual([1, 2, 3, 4, 5, 6, 7]);
    call.cancel();
    await piped;
  });

  it('ends a watcher that falls more than its bound behind with RESOURCE_EXHAUSTED and drops its subscription', async () => {
    const hub = new Hub<Uint8Array>();
    const feed = new LiveFeed(push => hub.subscribe(push), 3);
    const call = new FakeCall(1);
    const piped = pipeLive(call, feed, new AbortController().signal);
    for (let i = 0; i < 10; i++) hub.publish(frame(i));
    await expect(piped).rejects.toMatchObject({code: Code.ResourceExhausted});
    expect(hub.size).toBe(0);
    // One written, three held: never more than the bound.
    expect(call.written).toEqual([0]);
  });

  it('ends the stream (no error) when the server shuts down', async () => {
    const hub = new Hub<Uint8Array>();
    const shutdown = new AbortController();
    const piped = pipeLive(
      new FakeCall(10),
      new LiveFeed(push => hub.subscribe(push), 3),
      shutdown.signal,
    );
    shutdown.abort();
    await expect(piped).resolves.toBeUndefined();
    expect(hub.size).toBe(0);
  });
});

describe('KeyedHub', () => {
  it('hands a watcher only the values of its keys, each once, and every value to a watcher of every key', () => {
    const hub = new KeyedHub<{sku: string; n: number}>(v => v.sku);
    const a: number[] = [];
    const ab: number[] = [];
    const all: number[] = [];
    hub.subscribe(v => a.push(v.n), ['A']);
    const stopAb = hub.subscribe(v => ab.push(v.n), ['A', 'B', 'A']);
    hub.subscribe(v => all.push(v.n));
    hub.publish({sku: 'A', n: 1});
    hub.publish({sku: 'B', n: 2});
    hub.publish({sku: 'C', n: 3});
    expect(a).toEqual([1]);
    expect(ab).toEqual([1, 2]);
    expect(all).toEqual([1, 2, 3]);
    expect(hub.size).toBe(3);
    stopAb();
    stopAb();
    hub.publish({sku: 'B', n: 4});
    expect(ab).toEqual([1, 2]);
    expect(hub.size).toBe(2);
  });
});
