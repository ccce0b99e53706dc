/**
 * Keeps one service process running for `npm start`: when it exits without being asked
 * to, it is started again after an exponential back-off (doubling from `initialDelayMs`
 * up to `maxDelayMs`), with a log line naming the service, how it ended and when it
 * comes back. A process that stayed up for `stableAfterMs` starts the back-off afresh,
 * so a crash once a day restarts at once while a crash loop settles at one try every
 * `maxDelayMs`. The other services never notice: each has its own supervisor.
 *
 * Processes and time come in through small interfaces so the policy is tested with a
 * fake clock and fake processes (supervisor.test.ts) and once with real ones.
 */

/** How a process ended: its exit code, or the signal that killed it. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started process, as the supervisor sees it. */
export interface Supervised {
  pid: number | undefined;
  /** Resolves once, when the process has exited (asked to or not). */
  exited: Promise<Exit>;
  /** Asks it to stop and resolves when it has. */
  stop(): Promise<void>;
}

export interface SupervisorClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SupervisorOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  stableAfterMs?: number;
  log?: (line: string) => void;
  clock?: SupervisorClock;
  /** Called with every newly started process (the first and each restart). */
  onStarted?: (process: Supervised) => void;
}

const REAL_CLOCK: SupervisorClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: handle => clearTimeout(handle as NodeJS.Timeout),
};

export class Supervisor {
  private current: Supervised | undefined;
  private startedAt = 0;
  /** Restarts since the process last stayed up for stableAfterMs. */
  private failures = 0;
  private pending: unknown;
  private stopping = false;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly stableAfterMs: number;
  private readonly log: (line: string) => void;
  private readonly clock: SupervisorClock;

  constructor(
    readonly name: string,
    private readonly spawn: () => Promise<Supervised>,
    private readonly options: SupervisorOptions = {},
  ) {
    this.initialDelayMs = options.initialDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.stableAfterMs = options.stableAfterMs ?? 30_000;
    this.log = options.log ?? (line => console.error(line));
    this.clock = options.clock ?? REAL_CLOCK;
  }

  /** The running process, if any (none while waiting to restart). */
  get process(): Supervised | undefined {
    return this.current;
  }

  /**
   * Starts the first process; its failure is the caller's (a service that cannot
   * start at all is a configuration problem, not a crash to retry).
   */
  async start(): Promise<Supervised> {
    const first = await this.spawn();
    this.adopt(first);
    return first;
  }

  /** Supervises a process started elsewhere (the mesh starts the first ones in order). */
  watch(p: Supervised): void {
    this.adopt(p);
  }

  /** Stops supervising and stops the process; no restart follows. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pending !== undefined) this.clock.clearTimeout(this.pending);
    this.pending = undefined;
    await this.current?.stop();
  }

  private adopt(p: Supervised): void {
    this.current = p;
    this.startedAt = this.clock.now();
    this.options.onStarted?.(p);
    void p.exited.then(exit => this.onExit(p, exit));
  }

  private onExit(p: Supervised, exit: Exit): void {
    if (this.current !== p) return;
    this.current = undefined;
    if (this.stopping) return;
    const upMs = this.clock.now() - this.startedAt;
    if (upMs >= this.stableAfterMs) this.failures = 0;
    const how =
      exit.signal !== null
        ? `killed by ${exit.signal}`
        : `exited with code ${exit.code}`;
    this.scheduleRestart(
      `agora: ${this.name} (pid ${p.pid}) ${how} after ${seconds(upMs)}`,
    );
  }

  private scheduleRestart(what: string): void {
    const delayMs = Math.min(
      this.maxDelayMs,
      this.initialDelayMs * 2 ** this.failures,
    );
    this.failures++;
    this.log(`${what}; restarting it in ${seconds(delayMs)}`);
    this.pending = this.clock.setTimeout(() => {
      this.pending = undefined;
      void this.restart();
    }, delayMs);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    let p: Supervised;
    try {
      p = await this.spawn();
    } catch (err) {
      this.scheduleRestart(
        `agora: ${this.name} failed to start again (${err instanceof Error ? err.message : String(err)})`,
      );
      return;
    }
    if (this.stopping) {
      await p.stop();
      return;
    }
    this.adopt(p);
    this.log(`agora: ${this.name} is serving again (pid ${p.pid})`);
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
