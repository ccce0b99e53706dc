import {Bulkhead, OverloadedError} from './bulkhead.js';

const tick = () => new Promise(r => setImmediate(r));

describe('Bulkhead', () => {
  it('never runs more than its limit at once, and runs every task', async () => {
    const bulkhead = new Bulkhead('test', 3, 100);
    let now = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({length: 20}, (_, i) =>
        bulkhead.run(async () => {
          now++;
          peak = Math.max(peak, now);
          await tick();
          now--;
          return i;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(results).toEqual(Array.from({length: 20}, (_, i) => i));
    expect(bulkhead.inFlight).toBe(0);
  });

  it('refuses new tasks at once when the queue is full', async () => {
    const bulkhead = new Bulkhead('orders', 1, 1);
    let release!: () => void;
    const first = bulkhead.run(() => new Promise<void>(r => (release = r)));
    const second = bulkhead.run(async () => 'second');
    await expect(bulkhead.run(async () => 'third')).rejects.toBeInstanceOf(
      OverloadedError,
    );
    release();
    await first;
    expect(await second).toBe('second');
  });

  it('frees the slot when a task fails', async () => {
    const bulkhead = new Bulkhead('test', 1, 10);
    await expect(
      bulkhead.run(async () => Promise.reject(new Error('boom'))),
    ).rejects.toThrow('boom');
    expect(await bulkhead.run(async () => 'next')).toBe('next');
  });
});
