import {Code} from '@connectrpc/connect';
import {fanOut, Hub, streamOf} from './streams.js';

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
