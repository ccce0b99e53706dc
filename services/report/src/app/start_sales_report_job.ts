/**
 * StartSalesReportJob: queues a report to be computed in the background.
 */
import {IdempotencyConflictError} from '../../../common/errors/domain_error.js';
import {ReportJob} from '../domain/report_job.js';
import {parseReportPeriod} from '../domain/report_period.js';
import type {GroupBy} from '../domain/sales_report.js';
import type {Clock, ReportJobStore} from './ports.js';

export interface StartSalesReportJobCommand {
  requestId: string;
  startDate: string;
  endDate: string;
  groupBy: GroupBy;
}

export class StartSalesReportJob {
  constructor(
    private readonly jobs: ReportJobStore,
    private readonly clock: Clock,
    private readonly newId: () => string,
    /** Tells the local worker a job is waiting, so it need not wait for its next poll. */
    private readonly wakeWorker: () => void = () => {},
  ) {}

  /**
   * Inserts a PENDING job, once per request id: a retry with the same period and
   * grouping gets the job the first call created, in whatever state it is now; the same
   * request id with anything else is refused (ALREADY_EXISTS).
   */
  async execute(cmd: StartSalesReportJobCommand): Promise<ReportJob> {
    const period = parseReportPeriod(cmd.startDate, cmd.endDate);
    const job = ReportJob.create({
      id: this.newId(),
      requestId: cmd.requestId,
      spec: {period, groupBy: cmd.groupBy},
      createdAt: this.clock.now(),
    });
    // Insert first, then look: "check, then insert" would let two concurrent retries
    // both create a job. A unique request id makes the second insert wait for the first
    // and then do nothing.
    if (await this.jobs.insertJob(job)) {
      this.wakeWorker();
      return job;
    }
    const existing = await this.jobs.findJobByRequestId(cmd.requestId);
    if (!existing || !existing.isFor(job.spec)) {
      throw new IdempotencyConflictError('request_id', cmd.requestId);
    }
    return existing;
  }
}
