import {createLogger} from '../log/logger.js';
import {ReadinessProbe} from './readiness.js';

const quiet = createLogger('test', 'error');

describe('ReadinessProbe (issue 8: "a replica that lost PostgreSQL still reports SERVING")', () => {
  it('reports not ready when one check fails and ready again once every check passes, once per change', async () => {
    let pgUp = true;
    const changes: boolean[] = [];
    const probe = new ReadinessProbe(
      [
        {
          name: 'postgresql',
          check: async () => {
            if (!pgUp) throw new Error('connect ECONNREFUSED');
          },
        },
        {name: 'other', check: async () => undefined},
      ],
      {everyMs: 1000, timeoutMs: 100},
      quiet,
      ready => changes.push(ready),
    );
    expect(probe.ready).toBe(true);
    await probe.probe();
    expect(changes).toEqual([]);
    pgUp = false;
    await probe.probe();
    await probe.probe();
    expect(probe.ready).toBe(false);
    expect(changes).toEqual([false]);
    pgUp = true;
    await probe.probe();
    expect(probe.ready).toBe(true);
    expect(changes).toEqual([false, true]);
  });

  it('passes its timeout to each check', async () => {
    const seen: number[] = [];
    const probe = new ReadinessProbe(
      [{name: 'postgresql', check: async ms => void seen.push(ms)}],
      {everyMs: 1000, timeoutMs: 750},
      quiet,
      () => undefined,
    );
    await probe.probe();
    expect(seen).toEqual([750]);
  });
});
