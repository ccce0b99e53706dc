/**
 * Report's stores on PostgreSQL: the copy of paid order lines and the report jobs.
 *
 * Sums are computed by PostgreSQL in NUMERIC and come back as strings (see
 * common/db/database.ts), so no amount passes through a JS number; counts come back as
 * bigint strings and become BigInt.
 */
import type {Database, Sql} from '../../../common/db/database.js';
import {Money} from '../../../common/money/money.js';
import type {ReportJobStore, SalesStore} from '../app/ports.js';
import type {OrderPaid, OrderRefunded} from '../domain/order_facts.js';
import {
  ReportJob,
  type ReportJobState,
  type ReportSpec,
} from '../domain/report_job.js';
import {periodEnd, periodStart} from '../domain/report_period.js';
import {
  TOTAL_KEY,
  type GroupBy,
  type SalesFigures,
  type SalesReport,
  type SalesRow,
} from '../domain/sales_report.js';

interface FigureRow {
  key: string | null;
  currency_code: string;
  orders: string;
  units: string;
  revenue: string;
  is_total: boolean;
}

interface JobRow {
  job_id: string;
  request_id: string;
  state: ReportJobState;
  start_date: string;
  end_date: string;
  group_by: GroupBy;
  row_count: number;
  error_message: string;
  attempt: number;
  created_at: Date;
  finished_at: Date | null;
}

interface StoredReportRow {
  key: string;
  currency_code: string;
  orders: string;
  units: string;
  revenue: string;
}

// Dates as text: node-postgres turns a `date` into a JS Date at local midnight, which
// is another day in any zone west of UTC.
const JOB_COLUMNS = `job_id, request_id, state, start_date::text as start_date,
  end_date::text as end_date, group_by, row_count, error_message, attempt, created_at,
  finished_at`;

/** Rows per INSERT when storing a report (keeps each statement's arrays moderate). */
const INSERT_CHUNK = 1000;

function toSalesRow(row: StoredReportRow): SalesRow {
  return {
    key: row.key,
    currencyCode: row.currency_code,
    orders: BigInt(row.orders),
    units: BigInt(row.units),
    revenue: Money.of(row.revenue, row.currency_code),
  };
}

function toJob(row: JobRow): ReportJob {
  return ReportJob.restore({
    id: row.job_id,
    requestId: row.request_id,
    spec: {
      period: {startDate: row.start_date, endDate: row.end_date},
      groupBy: row.group_by,
    },
    state: row.state,
    rowCount: row.row_count,
    errorMessage: row.error_message,
    attempt: row.attempt,
    createdAt: row.created_at,
    finishedAt: row.finished_at ?? undefined,
  });
}

export class PgReportStore implements SalesStore, ReportJobStore {
  constructor(private readonly db: Database) {}

  async recordSales(orders: readonly OrderPaid[]): Promise<number> {
    // One statement (one commit) for a whole batch of events: a row per line.
    const lines = orders.flatMap(order =>
      order.lines.map(line => ({order, line})),
    );
    if (lines.length === 0) return 0;
    return this.db.execute(
      `insert into sale_line
         (order_id, line_no, sku, quantity, unit_price, line_total, currency_code, paid_at)
       select * from unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::numeric[],
                            $6::numeric[], $7::text[], $8::timestamptz[])
       on conflict (order_id, line_no) do nothing`,
      [
        lines.map(l => l.order.orderId),
        lines.map(l => l.line.lineNo),
        lines.map(l => l.line.sku),
        lines.map(l => l.line.quantity),
        lines.map(l => l.line.unitPrice.amount.toFixed()),
        lines.map(l => l.line.lineTotal.amount.toFixed()),
        lines.map(l => l.line.lineTotal.currencyCode),
        lines.map(l => l.order.paidAt),
      ],
    );
  }

  async recordRefund(fact: OrderRefunded): Promise<boolean> {
    const inserted = await this.db.execute(
      `insert into sale_adjustment
         (event_id, order_id, kind, amount, currency_code, occurred_at)
       values ($1, $2, $3, $4, $5, $6)
       on conflict (event_id) do nothing`,
      [
        fact.eventId,
        fact.orderId,
        fact.kind,
        fact.refundedToDate.amount.toFixed(),
        fact.refundedToDate.currencyCode,
        fact.at,
      ],
    );
    return inserted > 0;
  }

  async salesFigures(spec: ReportSpec): Promise<SalesFigures> {
    // One statement, so rows and totals come from the same snapshot. The grouping sets
    // give the per-currency totals their own count(distinct order_id): an order with
    // several SKUs is in several product rows but is one order in the total.
    // A day is the UTC calendar day of paid_at, whatever the session time zone.
    const rows = await this.db.query<FigureRow>(
      `select key, currency_code,
              count(distinct order_id) as orders,
              sum(quantity) as units,
              sum(line_total) as revenue,
              grouping(key) = 1 as is_total
         from (select order_id, quantity, line_total, currency_code,
                      case $3::text
                        when 'day' then to_char(paid_at at time zone 'UTC', 'YYYY-MM-DD')
                        else sku
                      end as key
                 from sale_line
                where paid_at >= $1 and paid_at < $2) as l
        group by grouping sets ((key, currency_code), (currency_code))`,
      [periodStart(spec.period), periodEnd(spec.period), spec.groupBy],
    );
    // The totals' key column is null (grouped away); they are labelled here.
    const toRow = (r: FigureRow) =>
      toSalesRow({...r, key: r.is_total ? TOTAL_KEY : String(r.key)});
    return {
      rows: rows.filter(r => !r.is_total).map(toRow),
      totals: rows.filter(r => r.is_total).map(toRow),
    };
  }

  async insertJob(job: ReportJob): Promise<boolean> {
    const {period, groupBy} = job.spec;
    const inserted = await this.db.execute(
      `insert into report_job
         (job_id, request_id, state, start_date, end_date, group_by, created_at)
       values ($1, $2, $3, $4::date, $5::date, $6, $7)
       on conflict (request_id) do nothing`,
      [
        job.id,
        job.requestId,
        job.state,
        period.startDate,
        period.endDate,
        groupBy,
        job.createdAt,
      ],
    );
    return inserted > 0;
  }

  async findJob(jobId: string): Promise<ReportJob | undefined> {
    const [row] = await this.db.query<JobRow>(
      `select ${JOB_COLUMNS} from report_job where job_id = $1`,
      [jobId],
    );
    return row && toJob(row);
  }

  async findJobByRequestId(requestId: string): Promise<ReportJob | undefined> {
    const [row] = await this.db.query<JobRow>(
      `select ${JOB_COLUMNS} from report_job where request_id = $1`,
      [requestId],
    );
    return row && toJob(row);
  }

  async claimJob(now: Date, leaseMs: number): Promise<ReportJob | undefined> {
    // `skip locked`: a job another worker is claiming right now is passed over rather
    // than waited for, so replicas take different jobs side by side.
    const [row] = await this.db.query<JobRow>(
      `update report_job
          set state = 'running', attempt = attempt + 1, lease_expires_at = $2
        where job_id = (
                select job_id from report_job
                 where state = 'pending' or (state = 'running' and lease_expires_at <= $1)
                 order by created_at, job_id
                 limit 1
                 for update skip locked)
        returning ${JOB_COLUMNS}`,
      [now, new Date(now.getTime() + leaseMs)],
    );
    return row && toJob(row);
  }

  saveSucceeded(job: ReportJob, report: SalesReport): Promise<boolean> {
    return this.db.tx(async sql => {
      // The state change goes first: when it finds nothing (another worker's attempt
      // owns the job now), no row is written.
      if (!(await this.finish(sql, job))) return false;
      await insertReportRows(sql, job.id, 'row', report.rows);
      await insertReportRows(sql, job.id, 'total', report.totals);
      return true;
    });
  }

  saveFailed(job: ReportJob): Promise<boolean> {
    return this.finish(this.db, job);
  }

  /** Moves the job to its final state if it is still RUNNING in this attempt. */
  private async finish(sql: Sql, job: ReportJob): Promise<boolean> {
    const updated = await sql.execute(
      `update report_job
          set state = $3, row_count = $4, error_message = $5, finished_at = $6,
              lease_expires_at = null
        where job_id = $1 and attempt = $2 and state = 'running'`,
      [
        job.id,
        job.attempt,
        job.state,
        job.rowCount,
        job.errorMessage,
        job.finishedAt,
      ],
    );
    return updated > 0;
  }

  async jobRows(jobId: string): Promise<SalesRow[]> {
    const rows = await this.db.query<StoredReportRow>(
      `select key, currency_code, orders, units, revenue
         from report_row where job_id = $1 and section = 'row'
        order by position`,
      [jobId],
    );
    return rows.map(toSalesRow);
  }
}

async function insertReportRows(
  sql: Sql,
  jobId: string,
  section: 'row' | 'total',
  rows: readonly SalesRow[],
): Promise<void> {
  for (let from = 0; from < rows.length; from += INSERT_CHUNK) {
    const chunk = rows.slice(from, from + INSERT_CHUNK);
    await sql.execute(
      `insert into report_row
         (job_id, section, position, key, currency_code, orders, units, revenue)
       select $1::uuid, $2::text, r.*
         from unnest($3::int[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
                     $8::numeric[]) as r`,
      [
        jobId,
        section,
        chunk.map((_, i) => from + i),
        chunk.map(r => r.key),
        chunk.map(r => r.currencyCode),
        chunk.map(r => r.orders.toString()),
        chunk.map(r => r.units.toString()),
        chunk.map(r => r.revenue.toString()),
      ],
    );
  }
}
