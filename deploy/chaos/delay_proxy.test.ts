import {jest} from '@jest/globals';
import {createServer, connect, type AddressInfo} from 'node:net';
import {DelayedPipe, startDelayProxy} from './delay_proxy.js';

describe('DelayedPipe', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('passes chunks at once while no delay is set', () => {
    const out: string[] = [];
    const pipe = new DelayedPipe(
      c => out.push(c.toString()),
      () => 0,
    );
    pipe.push(Buffer.from('a'));
    expect(out).toEqual(['a']);
  });

  it('holds chunks for the delay and keeps their order when the delay drops', () => {
    let delay = 1000;
    let now = 0;
    const out: string[] = [];
    const pipe = new DelayedPipe(
      c => out.push(c.toString()),
      () => delay,
      () => now,
    );
    pipe.push(Buffer.from('a'));
    delay = 0;
    pipe.push(Buffer.from('b')); // must not overtake a
    expect(out).toEqual([]);
    expect(pipe.held).toBe(2);
    now = 999;
    jest.advanceTimersByTime(999);
    expect(out).toEqual([]);
    now = 1000;
    jest.advanceTimersByTime(1);
    expect(out).toEqual(['a', 'b']);
    pipe.push(Buffer.from('c'));
    expect(out).toEqual(['a', 'b', 'c']);
  });
});

describe('startDelayProxy', () => {
  it('forwards both ways and delays only the answers', async () => {
    const echo = createServer(s => s.on('data', d => s.write(d)));
    await new Promise<void>(r => echo.listen(0, '127.0.0.1', () => r()));
    const port = (echo.address() as AddressInfo).port;
    const proxy = await startDelayProxy({host: '127.0.0.1', port});
    const [host, p] = proxy.address.split(':');
    const roundTrip = async (msg: string) => {
      const client = connect(Number(p), host);
      const started = Date.now();
      const answer = await new Promise<string>(resolve => {
        client.once('data', d => resolve(d.toString()));
        client.write(msg);
      });
      client.destroy();
      return {answer, ms: Date.now() - started};
    };
    try {
      const fast = await roundTrip('ping');
      expect(fast.answer).toBe('ping');
      proxy.setResponseDelay(300);
      const slow = await roundTrip('pong');
      expect(slow.answer).toBe('pong');
      expect(slow.ms).toBeGreaterThanOrEqual(290);
    } finally {
      await proxy.close();
      await new Promise(r => echo.close(r));
    }
  });
});
