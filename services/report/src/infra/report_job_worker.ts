/**
 * The background loop that runs report jobs in this process: every `pollMs` (and at
 * once when a job is started here) it runs jobs until none is waiting, one at a time.
 * Each replica runs one; the store's claim (`for update skip locked`) gives each job to
 * exactly one of them.
 */
import type {Logger} from '../../../common/log/logger.js';
import type {RunReportJobs} from '../app/run_report_jobs.js';

export class ReportJobWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly jobs: RunReportJobs,
    private readonly log: Logger,
    private readonly pollMs = 500,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.nudge(), this.pollMs);
    this.timer.unref();
    this.nudge();
  }

  /** Asks for a pass soon; a pass already under way runs another one after it. */
  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.nudge();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped) {
        const outcome = await this.jobs.runNext();
        if (!outcome) return;
        const {job, saved, cause} = outcome;
        const fields = {
          jobId: job.id,
          state: job.state,
          attempt: job.attempt,
          rows: job.rowCount,
        };
        if (!saved) {
          this.log.warn(
            'report job taken over by another worker; result dropped',
            fields,
          );
        } else if (job.state === 'succeeded') {
          this.log.info('report job succeeded', fields);
        } else {
          this.log.error(
            'report job failed',
            fields,
            cause ?? job.errorMessage,
          );
        }
      }
    } catch (err) {
      // Nothing is lost: the job stays RUNNING until its lease runs out, then is retried.
      this.log.warn('report job pass failed; will retry', {
        reason: err instanceof Error ? err.message : String(err),
      });
    }
  }

  /** Stops polling and waits for the job in progress (shutdown, before the pool closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
