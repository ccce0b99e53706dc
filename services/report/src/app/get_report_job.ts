/**
 * GetReportJob: one job, wherever it is in its life.
 */
import {UnknownReportJobError} from '../domain/errors.js';
import {checkUuid, type ReportJob} from '../domain/report_job.js';
import type {ReportJobStore} from './ports.js';

export class GetReportJob {
  constructor(private readonly jobs: ReportJobStore) {}

  /** The job, or NOT_FOUND. */
  async execute(jobId: string): Promise<ReportJob> {
    const job = await this.jobs.findJob(checkUuid('job_id', jobId));
    if (!job) throw new UnknownReportJobError(jobId);
    return job;
  }
}
