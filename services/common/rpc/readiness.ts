/**
 * Readiness: whether this process can do its work now, not merely whether it runs. A
 * replica that lost PostgreSQL answers every call UNAVAILABLE, so health says
 * NOT_SERVING (and /healthz 503) until the database answers again, and balancers
 * (HAProxy checks /healthz) send its calls to a replica that can serve them.
 *
 * Each dependency the process cannot work without is one check, probed every
 * `everyMs` with a bound of `timeoutMs`; one failed probe is enough to leave rotation
 * (the balancer adds its own hysteresis), one passing probe of every check to return.
 */
import type {Logger} from '../log/logger.js';

export interface ReadinessCheck {
  /** Named in log lines ("postgresql"). */
  name: string;
  /** Resolves when the dependency answered within `timeoutMs`. */
  check(timeoutMs: number): Promise<void>;
}

export interface ReadinessOptions {
  everyMs: number;
  timeoutMs: number;
}

export class ReadinessProbe {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readyNow = true;

  constructor(
    private readonly checks: readonly ReadinessCheck[],
    private readonly options: ReadinessOptions,
    private readonly log: Logger,
    /** Called on every change (true: ready again). */
    private readonly onChange: (ready: boolean) => void,
  ) {}

  /** True until a probe fails (the process starts only after its dependencies answered). */
  get ready(): boolean {
    return this.readyNow;
  }

  start(): void {
    if (this.checks.length === 0 || this.timer) return;
    this.timer = setInterval(() => {
      // Probes never overlap: a slow one makes the next tick a no-op.
      this.running ??= this.probe().finally(() => {
        this.running = undefined;
      });
    }, this.options.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Runs every check once and reports a change; exposed for tests. */
  async probe(): Promise<void> {
    const results = await Promise.allSettled(
      this.checks.map(c => c.check(this.options.timeoutMs)),
    );
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected'
        ? [
            {
              name: this.checks[i].name,
              reason:
                r.reason instanceof Error ? r.reason.message : String(r.reason),
            },
          ]
        : [],
    );
    const ready = failed.length === 0;
    if (ready === this.readyNow) return;
    this.readyNow = ready;
    if (ready) this.log.info('dependencies answer again: SERVING');
    else
      this.log.warn('a dependency does not answer: NOT_SERVING', {
        dependency: failed.map(f => f.name).join(','),
        reason: failed[0].reason,
      });
    this.onChange(ready);
  }
}
