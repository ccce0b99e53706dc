/**
 * A periodic task: `run` every `everyMs`, the next run scheduled when one ends, so runs
 * never overlap however long one takes; a failed run is logged and the schedule goes on.
 * stop() cancels the next run (a run in progress finishes).
 */
import type {Logger} from '../log/logger.js';

export interface PeriodicTask {
  stop(): void;
}

export function startPeriodicTask(opts: {
  name: string;
  everyMs: number;
  run: () => Promise<unknown>;
  log: Logger;
  /** Delay before the first run; `everyMs` when unset. */
  firstAfterMs?: number;
}): PeriodicTask {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      opts
        .run()
        .catch(err =>
          opts.log.warn(`${opts.name} failed`, {
            reason: err instanceof Error ? err.message : String(err),
          }),
        )
        .finally(() => schedule(opts.everyMs));
    }, ms);
    timer.unref();
  };
  schedule(opts.firstAfterMs ?? opts.everyMs);
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
