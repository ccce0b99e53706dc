/**
 * What Report's use cases need from the outside world; implemented in infra/ on
 * PostgreSQL (PgReportStore).
 */
import type {OrderPaid, OrderRefunded} from '../domain/order_facts.js';
import type {ReportJob, ReportSpec} from '../domain/report_job.js';
import type {
  SalesFigures,
  SalesReport,
  SalesRow,
} from '../domain/sales_report.js';

/** Report's own copy of paid order lines, fed by order events. */
export interface SalesStore {
  /**
   * Stores the lines of paid orders, atomically. Lines already stored (a redelivered
   * event) are left as they are; returns how many lines were new.
   */
  recordSales(orders: readonly OrderPaid[]): Promise<number>;
  /** Stores a cancellation or refund once per event id; false when it was stored before. */
  recordRefund(fact: OrderRefunded): Promise<boolean>;
  /**
   * Sums the lines paid within the period, per group and currency, and per currency
   * for the totals, from one consistent snapshot (so the totals always match the rows).
   * Each row also counts distinct orders, which cannot be summed from other rows.
   */
  salesFigures(spec: ReportSpec): Promise<SalesFigures>;
}

/** Report jobs and the reports they produced. */
export interface ReportJobStore {
  /** Inserts a PENDING job; false when its request id is taken (nothing written). */
  insertJob(job: ReportJob): Promise<boolean>;
  findJob(jobId: string): Promise<ReportJob | undefined>;
  findJobByRequestId(requestId: string): Promise<ReportJob | undefined>;
  /**
   * Claims the oldest job waiting for a worker (PENDING, or RUNNING with a lease that
   * ran out because its worker died): sets it RUNNING, counts the attempt and leases it
   * until now + leaseMs. Jobs another worker is claiming at the same moment are skipped,
   * so replicas never wait on each other. Undefined when there is nothing to do.
   */
  claimJob(now: Date, leaseMs: number): Promise<ReportJob | undefined>;
  /**
   * Stores a SUCCEEDED job and its report rows and totals, all or nothing, if the job is
   * still RUNNING in the same attempt; false when another worker took it over (its
   * lease ran out), in which case nothing is written.
   */
  saveSucceeded(job: ReportJob, report: SalesReport): Promise<boolean>;
  /** Stores a FAILED job under the same attempt condition as saveSucceeded. */
  saveFailed(job: ReportJob): Promise<boolean>;
  /** The rows of a finished report, in report order (totals not included). */
  jobRows(jobId: string): Promise<SalesRow[]>;
}

export interface Clock {
  now(): Date;
}
