/**
 * GetSalesReport: a sales report computed now, from the latest sales.
 */
import {FailedPreconditionError} from '../../../common/errors/domain_error.js';
import type {ReportSpec} from '../domain/report_job.js';
import {parseReportPeriod} from '../domain/report_period.js';
import {
  buildSalesReport,
  type GroupBy,
  type SalesReport,
} from '../domain/sales_report.js';
import type {Clock, SalesStore} from './ports.js';

export interface GetSalesReportQuery {
  startDate: string;
  endDate: string;
  groupBy: GroupBy;
}

/**
 * The most rows a report (and so its CSV export) may have: a by-day report of a year has
 * 366 per currency; a by-product one grows with the catalogue, and past this it is too
 * large to send in one message.
 */
export const MAX_REPORT_ROWS = 10_000;

export class GetSalesReport {
  constructor(
    private readonly sales: SalesStore,
    private readonly clock: Clock,
  ) {}

  /** Checks the period (INVALID_ARGUMENT naming the field), then computes. */
  async execute(query: GetSalesReportQuery): Promise<SalesReport> {
    const period = parseReportPeriod(query.startDate, query.endDate);
    return this.compute({period, groupBy: query.groupBy});
  }

  /**
   * Computes a report for an already checked spec (report jobs use this too, so a job
   * and a live report of the same period always agree). The generate time is taken
   * before reading: every sale recorded before it is in the figures.
   */
  async compute(spec: ReportSpec): Promise<SalesReport> {
    const generatedAt = this.clock.now();
    const figures = await this.sales.salesFigures(spec);
    const report = buildSalesReport(
      spec.period,
      spec.groupBy,
      figures,
      generatedAt,
    );
    if (report.rows.length > MAX_REPORT_ROWS) {
      throw new FailedPreconditionError(
        `the report has ${report.rows.length} rows, more than the ${MAX_REPORT_ROWS} a report may hold; choose a shorter period`,
        {rows: String(report.rows.length), limit: String(MAX_REPORT_ROWS)},
      );
    }
    return report;
  }
}
