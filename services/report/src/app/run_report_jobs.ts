/**
 * RunReportJobs: what a worker does with one job. Every replica runs a worker; the
 * store's claim hands each job to one of them.
 */
import {DomainError} from '../../../common/errors/domain_error.js';
import type {ReportJob} from '../domain/report_job.js';
import type {SalesReport} from '../domain/sales_report.js';
import type {GetSalesReport} from './get_sales_report.js';
import type {Clock, ReportJobStore} from './ports.js';

export interface RunReportJobsOptions {
  /**
   * How long a claim lasts. A worker that dies mid-job leaves it RUNNING; once the lease
   * runs out another worker claims it again. Longer than any report takes to compute.
   */
  leaseMs: number;
  /** Claims after which a job that never finished is FAILED instead of retried. */
  maxAttempts: number;
}

/** What happened to the job a worker ran (for logs). */
export interface JobOutcome {
  job: ReportJob;
  /** False when another worker took the job over first; nothing was stored. */
  saved: boolean;
  /** The error that failed the job, for the log (its message may be hidden from clients). */
  cause?: unknown;
}

/** Shown to clients for failures that are not theirs to understand; the log has the rest. */
export const INTERNAL_FAILURE_MESSAGE =
  'the report could not be computed (internal error; see the report service log)';

export class RunReportJobs {
  constructor(
    private readonly jobs: ReportJobStore,
    private readonly report: GetSalesReport,
    private readonly clock: Clock,
    private readonly options: RunReportJobsOptions,
  ) {}

  /**
   * Claims one job and runs it to SUCCEEDED or FAILED; undefined when none is waiting.
   * An error storing the outcome (database down) propagates and leaves the job RUNNING:
   * its lease runs out and it is retried, up to maxAttempts claims in all.
   */
  async runNext(): Promise<JobOutcome | undefined> {
    const job = await this.jobs.claimJob(
      this.clock.now(),
      this.options.leaseMs,
    );
    if (!job) return undefined;
    if (job.attempt > this.options.maxAttempts) {
      job.fail(
        `gave up after ${this.options.maxAttempts} attempts; the worker stopped before finishing each time`,
        this.clock.now(),
      );
      return {job, saved: await this.jobs.saveFailed(job)};
    }
    let report: SalesReport;
    try {
      report = await this.report.compute(job.spec);
    } catch (err) {
      job.fail(
        err instanceof DomainError ? err.message : INTERNAL_FAILURE_MESSAGE,
        this.clock.now(),
      );
      return {job, saved: await this.jobs.saveFailed(job), cause: err};
    }
    job.succeed(report.rows.length, this.clock.now());
    return {job, saved: await this.jobs.saveSucceeded(job, report)};
  }
}
