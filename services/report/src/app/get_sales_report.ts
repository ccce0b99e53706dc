/**
 * GetSalesReport: a sales report computed now, from the latest sales.
 */
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
    return buildSalesReport(spec.period, spec.groupBy, figures, generatedAt);
  }
}
