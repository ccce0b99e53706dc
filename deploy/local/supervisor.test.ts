import {
  Supervisor,
  type Exit,
  type Supervised,
  type SupervisorClock,
} from './supervisor.js';

/** A clock whose time moves only when the test says so. */
class FakeClock implements SupervisorClock {
  private t = 0;
  private timers: Array<{at: number; fn: () => void; id: number}> = [];
  private nextId = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({at: this.t + ms, fn, id});
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter(t => t.id !== handle);
  }
  /** Pending timer delays, relative to now. */
  get pendingDelays(): number[] {
    return this.timers.map(t => t.at - this.t);
  }
  async advance(ms: number): Promise<void> {
    this.t += ms;
    const due = this.timers.filter(t => t.at <= this.t);
    this.timers = this.timers.filter(t => t.at > this.t);
    for (const t of due) t.fn();
    await flush();
  }
}

class FakeProcess implements Supervised {
  readonly exited: Promise<Exit>;
  stopped = false;
  private end!: (exit: Exit) => void;
  constructor(readonly pid: number) {
    this.exited = new Promise(resolve => (this.end = resolve));
  }
  crash(exit: Exit = {code: null, signal: 'SIGKILL'}): void {
    this.end(exit);
  }
  async stop(): Promise<void> {
    this.stopped = true;
    this.end({code: 0, signal: null});
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function setup(failStarts = 0) {
  const clock = new FakeClock();
  const lines: string[] = [];
  const spawned: FakeProcess[] = [];
  let failing = failStarts;
  const supervisor = new Supervisor(
    'inventory',
    async () => {
      if (failing > 0) {
        failing--;
        throw new Error('inventory exited with code 1 while starting');
      }
      const p = new FakeProcess(100 + spawned.length);
      spawned.push(p);
      return p;
    },
    {
      clock,
      initialDelayMs: 500,
      maxDelayMs: 10_000,
      stableAfterMs: 30_000,
      log: l => lines.push(l),
    },
  );
  return {clock, lines, spawned, supervisor};
}

describe('Supervisor (issue 8: "the local start command stops all five services when one exits")', () => {
  it('restarts a killed service after the initial back-off and says which, how and when', async () => {
    const {clock, lines, spawned, supervisor} = setup();
    await supervisor.start();
    await clock.advance(2_000);
    spawned[0].crash({code: null, signal: 'SIGKILL'});
    await flush();
    expect(lines[0]).toBe(
      'agora: inventory (pid 100) killed by SIGKILL after 2.0 s; restarting it in 0.5 s',
    );
    expect(spawned).toHaveLength(1);
    await clock.advance(499);
    expect(spawned).toHaveLength(1);
    await clock.advance(1);
    expect(spawned).toHaveLength(2);
    expect(supervisor.process).toBe(spawned[1]);
    expect(lines[1]).toBe('agora: inventory is serving again (pid 101)');
  });

  it('doubles the back-off on each quick crash up to the 10 s cap', async () => {
    const {clock, spawned, supervisor} = setup();
    await supervisor.start();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      spawned[i].crash({code: 1, signal: null});
      await flush();
      delays.push(clock.pendingDelays[0]);
      await clock.advance(clock.pendingDelays[0]);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('starts the back-off afresh after the service stayed up for the stable period', async () => {
    const {clock, lines, spawned, supervisor} = setup();
    await supervisor.start();
    for (let i = 0; i < 3; i++) {
      spawned[i].crash({code: 1, signal: null});
      await flush();
      await clock.advance(clock.pendingDelays[0]);
    }
    await clock.advance(30_000);
    spawned[3].crash({code: 1, signal: null});
    await flush();
    expect(clock.pendingDelays).toEqual([500]);
    expect(lines.at(-1)).toMatch(/exited with code 1 after 30\.0 s/);
  });

  it('schedules another attempt when a restart itself fails', async () => {
    const clock = new FakeClock();
    const lines: string[] = [];
    const spawned: FakeProcess[] = [];
    let attempts = 0;
    const supervisor = new Supervisor(
      'payment',
      async () => {
        attempts++;
        // The first start succeeds, the next two fail (database still down), then one works.
        if (attempts === 2 || attempts === 3)
          throw new Error('payment did not start');
        const p = new FakeProcess(attempts);
        spawned.push(p);
        return p;
      },
      {clock, log: l => lines.push(l)},
    );
    await supervisor.start();
    spawned[0].crash({code: 1, signal: null});
    await flush();
    await clock.advance(500); // attempt 2 fails
    expect(lines.at(-1)).toBe(
      'agora: payment failed to start again (payment did not start); restarting it in 1.0 s',
    );
    await clock.advance(1000); // attempt 3 fails
    expect(clock.pendingDelays).toEqual([2000]);
    await clock.advance(2000); // attempt 4 works
    expect(supervisor.process).toBe(spawned[1]);
  });

  it('stops the process and never restarts it once stopped (Ctrl-C)', async () => {
    const {clock, lines, spawned, supervisor} = setup();
    await supervisor.start();
    await supervisor.stop();
    expect(spawned[0].stopped).toBe(true);
    await clock.advance(60_000);
    expect(spawned).toHaveLength(1);
    expect(lines).toEqual([]);
  });

  it('cancels a pending restart when stopped during the back-off', async () => {
    const {clock, spawned, supervisor} = setup();
    await supervisor.start();
    spawned[0].crash();
    await flush();
    expect(clock.pendingDelays).toEqual([500]);
    await supervisor.stop();
    await clock.advance(10_000);
    expect(spawned).toHaveLength(1);
  });

  it('supervises a process it did not start itself (watch)', async () => {
    const {clock, spawned, supervisor} = setup();
    const external = new FakeProcess(7);
    supervisor.watch(external);
    external.crash();
    await flush();
    await clock.advance(500);
    expect(spawned).toHaveLength(1);
    expect(supervisor.process).toBe(spawned[0]);
  });
});
