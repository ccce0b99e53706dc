/**
 * Report's schema: its own copy of paid order lines (fed by order events, never read
 * from the Order service's tables), refunds kept for later, and report jobs with their
 * stored results.
 */
import {Migration} from '@mikro-orm/migrations';

export class Migration0001Initial extends Migration {
  override up(): void {
    // One row per line of a paid order. The key (order_id, line_no) is what makes a
    // redelivered order.paid event harmless: its insert finds the lines and does nothing.
    // Money is NUMERIC, never float: sums over a year of sales stay exact.
    this.addSql(`
      create table sale_line (
        order_id text not null,
        line_no integer not null check (line_no > 0),
        sku text not null,
        quantity integer not null check (quantity > 0),
        unit_price numeric(24, 4) not null,
        line_total numeric(24, 4) not null,
        currency_code text not null check (currency_code ~ '^[A-Z]{3}$'),
        paid_at timestamptz not null,
        primary key (order_id, line_no)
      )`);
    // Every report reads a range of payment times.
    this.addSql('create index sale_line_paid_at on sale_line (paid_at)');
    // Cancellations and refunds, one row per event. Reports show gross sales for now;
    // these rows are what a net-revenue report will subtract. amount is the order's
    // refunded amount right after the event (a running total per order).
    this.addSql(`
      create table sale_adjustment (
        event_id text primary key,
        order_id text not null,
        kind text not null check (kind in ('cancelled', 'refunded')),
        amount numeric(24, 4) not null check (amount >= 0),
        currency_code text not null check (currency_code ~ '^[A-Z]{3}$'),
        occurred_at timestamptz not null
      )`);
    this.addSql(
      'create index sale_adjustment_order on sale_adjustment (order_id)',
    );
    // Dates are SQL dates (calendar days, no time zone); request_id is unique so a retried
    // StartSalesReportJob finds the job the first call created.
    this.addSql(`
      create table report_job (
        job_id uuid primary key,
        request_id uuid not null unique,
        state text not null check (state in ('pending', 'running', 'succeeded', 'failed')),
        start_date date not null,
        end_date date not null,
        group_by text not null check (group_by in ('day', 'product')),
        row_count integer not null default 0,
        error_message text not null default '',
        attempt integer not null default 0,
        lease_expires_at timestamptz,
        created_at timestamptz not null,
        finished_at timestamptz,
        constraint report_job_period check (end_date >= start_date)
      )`);
    // Workers look only at jobs that still need one.
    this.addSql(`
      create index report_job_waiting on report_job (created_at)
        where state in ('pending', 'running')`);
    // A finished report: its rows (section 'row', in report order) and its totals
    // (section 'total', one per currency). revenue is unbounded NUMERIC: a sum of
    // NUMERIC(24, 4) lines may need more integer digits than one line.
    this.addSql(`
      create table report_row (
        job_id uuid not null references report_job (job_id) on delete cascade,
        section text not null check (section in ('row', 'total')),
        position integer not null,
        key text not null,
        currency_code text not null,
        orders bigint not null,
        units bigint not null,
        revenue numeric not null,
        primary key (job_id, section, position)
      )`);
  }
}

export const REPORT_MIGRATIONS = [
  {name: '0001_initial', class: Migration0001Initial},
];
