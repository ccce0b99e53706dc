/**
 * ExportSalesReport: a finished job's report as a CSV file.
 */
import {ReportJobNotSucceededError} from '../domain/errors.js';
import {
  CSV_CONTENT_TYPE,
  salesCsv,
  salesCsvFileName,
} from '../domain/sales_csv.js';
import type {GetReportJob} from './get_report_job.js';
import type {ReportJobStore} from './ports.js';

export interface CsvFile {
  fileName: string;
  contentType: string;
  /** The CSV text; the RPC layer sends it as UTF-8. */
  content: string;
}

export class ExportSalesReport {
  constructor(
    private readonly jobs: ReportJobStore,
    private readonly getJob: GetReportJob,
  ) {}

  /** NOT_FOUND for an unknown job, FAILED_PRECONDITION until it has SUCCEEDED. */
  async execute(jobId: string): Promise<CsvFile> {
    const job = await this.getJob.execute(jobId);
    if (job.state !== 'succeeded') {
      throw new ReportJobNotSucceededError(job.id, job.state, job.errorMessage);
    }
    const rows = await this.jobs.jobRows(job.id);
    return {
      fileName: salesCsvFileName(job.spec.period, job.spec.groupBy),
      contentType: CSV_CONTENT_TYPE,
      content: salesCsv(rows),
    };
  }
}
