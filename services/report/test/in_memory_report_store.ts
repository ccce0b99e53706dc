/**
 * Report's stores in memory, for use-case and RPC tests. The job store keeps the
 * contract of PgReportStore (unique request id, claim with lease and attempt, finish
 * only by the attempt that owns the job). The sales store records what it was given and
 * answers salesFigures with figures the test sets: the SQL aggregation itself is proven
 * against PostgreSQL in pg_report_store.integration.test.ts, not imitated here.
 */
import type {ReportJobStore, SalesStore} from '../src/app/ports.js';
import type {
  OrderPaid,
  OrderRefunded,
  SaleLine,
} from '../src/domain/order_facts.js';
import {ReportJob, type ReportSpec} from '../src/domain/report_job.js';
import type {
  SalesFigures,
  SalesReport,
  SalesRow,
} from '../src/domain/sales_report.js';

interface StoredJob {
  job: ReportJob;
  leaseUntil: number;
}

export class InMemoryReportStore implements SalesStore, ReportJobStore {
  /** Stored sale lines by "orderId/lineNo". */
  readonly lines = new Map<
    string,
    SaleLine & {orderId: string; paidAt: Date}
  >();
  readonly refunds = new Map<string, OrderRefunded>();
  /** What salesFigures answers; set by the test. */
  figures: SalesFigures = {rows: [], totals: []};
  /** Makes salesFigures fail, to test failing jobs. */
  figuresError: Error | undefined;
  /** Every spec salesFigures was asked for. */
  readonly specsAsked: ReportSpec[] = [];
  private readonly jobs = new Map<string, StoredJob>();
  private readonly reports = new Map<string, SalesReport>();

  async recordSales(orders: readonly OrderPaid[]): Promise<number> {
    let added = 0;
    for (const order of orders) {
      for (const line of order.lines) {
        const key = `${order.orderId}/${line.lineNo}`;
        if (this.lines.has(key)) continue;
        this.lines.set(key, {
          ...line,
          orderId: order.orderId,
          paidAt: order.paidAt,
        });
        added++;
      }
    }
    return added;
  }

  async recordRefund(fact: OrderRefunded): Promise<boolean> {
    if (this.refunds.has(fact.eventId)) return false;
    this.refunds.set(fact.eventId, fact);
    return true;
  }

  async salesFigures(spec: ReportSpec): Promise<SalesFigures> {
    this.specsAsked.push(spec);
    if (this.figuresError) throw this.figuresError;
    return this.figures;
  }

  async insertJob(job: ReportJob): Promise<boolean> {
    if ([...this.jobs.values()].some(s => s.job.requestId === job.requestId)) {
      return false;
    }
    this.jobs.set(job.id, {job: copy(job), leaseUntil: 0});
    return true;
  }

  async findJob(jobId: string): Promise<ReportJob | undefined> {
    const stored = this.jobs.get(jobId);
    return stored && copy(stored.job);
  }

  async findJobByRequestId(requestId: string): Promise<ReportJob | undefined> {
    const stored = [...this.jobs.values()].find(
      s => s.job.requestId === requestId,
    );
    return stored && copy(stored.job);
  }

  async claimJob(now: Date, leaseMs: number): Promise<ReportJob | undefined> {
    const waiting = [...this.jobs.values()]
      .filter(
        s =>
          s.job.state === 'pending' ||
          (s.job.state === 'running' && s.leaseUntil <= now.getTime()),
      )
      .sort((a, b) => a.job.createdAt.getTime() - b.job.createdAt.getTime());
    const next = waiting[0];
    if (!next) return undefined;
    next.job = ReportJob.restore({
      ...next.job.snapshot(),
      state: 'running',
      attempt: next.job.attempt + 1,
    });
    next.leaseUntil = now.getTime() + leaseMs;
    return copy(next.job);
  }

  async saveSucceeded(job: ReportJob, report: SalesReport): Promise<boolean> {
    if (!this.owns(job)) return false;
    this.jobs.set(job.id, {job: copy(job), leaseUntil: 0});
    this.reports.set(job.id, report);
    return true;
  }

  async saveFailed(job: ReportJob): Promise<boolean> {
    if (!this.owns(job)) return false;
    this.jobs.set(job.id, {job: copy(job), leaseUntil: 0});
    return true;
  }

  async jobRows(jobId: string): Promise<SalesRow[]> {
    return [...(this.reports.get(jobId)?.rows ?? [])];
  }

  /** The stored report of a job (rows and totals), for assertions. */
  reportOf(jobId: string): SalesReport | undefined {
    return this.reports.get(jobId);
  }

  private owns(job: ReportJob): boolean {
    const stored = this.jobs.get(job.id)?.job;
    return stored?.state === 'running' && stored.attempt === job.attempt;
  }
}

/** Stored and returned jobs are separate objects, as they are with a database. */
function copy(job: ReportJob): ReportJob {
  return ReportJob.restore(job.snapshot());
}
