/**
 * A saga as explicit steps: each compensation is registered once its step may have
 * taken effect, and on failure they run in reverse order. A compensation that keeps
 * failing is not dropped: the result says so, the order is marked for recovery, and the
 * recovery worker retries it (every compensation is idempotent).
 */
import type {Logger} from '../../../common/log/logger.js';

export class Saga {
  private readonly compensations: Array<{
    name: string;
    run: () => Promise<void>;
  }> = [];

  constructor(
    private readonly log: Logger,
    private readonly attempts = 3,
    private readonly backoffMs = 100,
  ) {}

  /** Registers the undo of a step. */
  onFailure(name: string, run: () => Promise<void>): void {
    this.compensations.push({name, run});
  }

  /** Runs every compensation, newest first; returns the names of those that failed. */
  async compensate(): Promise<string[]> {
    const failed: string[] = [];
    for (const c of [...this.compensations].reverse()) {
      if (!(await this.tryHard(c.name, c.run))) failed.push(c.name);
    }
    return failed;
  }

  private async tryHard(
    name: string,
    run: () => Promise<void>,
  ): Promise<boolean> {
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        await run();
        return true;
      } catch (err) {
        this.log.warn('compensation failed', {
          step: name,
          attempt,
          reason: err instanceof Error ? err.message : String(err),
        });
        if (attempt < this.attempts) {
          await new Promise(resolve =>
            setTimeout(resolve, this.backoffMs * 2 ** (attempt - 1)),
          );
        }
      }
    }
    return false;
  }
}
