import {BatchingConsumer} from './batching_consumer.js';

const tick = () => new Promise(r => setImmediate(r));

function setup(handleBatch: (batch: number[]) => Promise<void>) {
  const acked: number[] = [];
  const one: number[] = [];
  const failures: number[] = [];
  const consumer = new BatchingConsumer<number>(
    {ack: m => acked.push(m)},
    handleBatch,
    m => one.push(m),
    3,
    (_err, size) => failures.push(size),
  );
  return {consumer, acked, one, failures};
}

describe('BatchingConsumer', () => {
  it('stores what arrived together as batches of at most the limit, then acknowledges each message', async () => {
    const batches: number[][] = [];
    const {consumer, acked, one} = setup(async b => {
      batches.push([...b]);
    });
    for (const m of [1, 2, 3, 4, 5]) consumer.push(m);
    await tick();
    await tick();
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    expect(acked).toEqual([1, 2, 3, 4, 5]);
    expect(one).toEqual([]);
  });

  it('acknowledges nothing before its batch is stored', async () => {
    let release!: () => void;
    const {consumer, acked} = setup(
      () => new Promise<void>(r => (release = r)),
    );
    consumer.push(1);
    consumer.push(2);
    await tick();
    expect(acked).toEqual([]);
    release();
    await tick();
    expect(acked).toEqual([1, 2]);
  });

  it('runs batches one after the other; messages arriving meanwhile form the next', async () => {
    const batches: number[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let release!: () => void;
    const {consumer, acked} = setup(async b => {
      batches.push([...b]);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (batches.length === 1) await new Promise<void>(r => (release = r));
      inFlight--;
    });
    consumer.push(1);
    await tick();
    consumer.push(2);
    consumer.push(3);
    await tick();
    expect(batches).toEqual([[1]]);
    release();
    await tick();
    await tick();
    expect(batches).toEqual([[1], [2, 3]]);
    expect(maxInFlight).toBe(1);
    expect(acked).toEqual([1, 2, 3]);
  });

  it('hands a failed batch to the one-message path and acknowledges none of it', async () => {
    const {consumer, acked, one, failures} = setup(async b => {
      if (b.includes(2)) throw new Error('bad event in batch');
    });
    consumer.push(1);
    consumer.push(2);
    await tick();
    await tick();
    expect(failures).toEqual([2]);
    expect(one).toEqual([1, 2]);
    expect(acked).toEqual([]);
    consumer.push(3);
    await tick();
    await tick();
    expect(acked).toEqual([3]);
  });
});
