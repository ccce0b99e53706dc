/**
 * A sales report: the paid order lines of a period, summed per group and currency.
 *
 * The rules every report follows, whether computed for GetSalesReport or by a job:
 * - a row is one (key, currency) pair: amounts of different currencies are never added
 *   together, not even in the totals, which hold one row per currency;
 * - orders counts distinct orders (an order with three SKUs is one order in a day row
 *   and one order in each of three product rows), units sums quantities and revenue is
 *   the exact sum of line totals;
 * - only groups with sales appear: a day without paid orders has no row (a zero row
 *   would need a currency, and there is none to choose);
 * - figures are gross sales of paid orders; refunds and cancellations are recorded
 *   apart (sale_adjustment) and do not reduce them yet.
 */
import type {Money} from '../../../common/money/money.js';
import type {ReportPeriod} from './report_period.js';

/** How rows are grouped: by UTC day of payment ("2026-11-26") or by SKU. */
export type GroupBy = 'day' | 'product';

/** The key of the totals rows. */
export const TOTAL_KEY = 'total';

export interface SalesRow {
  /** The group: a UTC day "YYYY-MM-DD", a SKU, or TOTAL_KEY in the totals. */
  readonly key: string;
  readonly currencyCode: string;
  /** Distinct paid orders with a line in the group. */
  readonly orders: bigint;
  /** Units sold. */
  readonly units: bigint;
  /** Exact sum of the line totals, in currencyCode. */
  readonly revenue: Money;
}

export interface SalesReport {
  readonly period: ReportPeriod;
  readonly groupBy: GroupBy;
  /** Ordered by key, then currency (see compareRows). */
  readonly rows: readonly SalesRow[];
  /** One row per currency that has sales, keyed TOTAL_KEY, ordered by currency. */
  readonly totals: readonly SalesRow[];
  /** When the figures were read. */
  readonly generatedAt: Date;
}

/** Per-group and per-currency sums as the sales store computed them. */
export interface SalesFigures {
  readonly rows: readonly SalesRow[];
  readonly totals: readonly SalesRow[];
}

/**
 * Row order: key, then currency, comparing UTF-16 code units. Done here rather than by
 * the database because an ORDER BY follows the database collation, under which "a-1"
 * and "A-1" (or "a1" and "a-1") may sort differently from server to server; a report
 * and its CSV must come out the same everywhere. Day keys sort chronologically because
 * they are zero-padded ISO dates.
 */
export function compareRows(a: SalesRow, b: SalesRow): number {
  return (
    compareCodeUnits(a.key, b.key) ||
    compareCodeUnits(a.currencyCode, b.currencyCode)
  );
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Units and revenue of one currency, summed over rows. */
export interface CurrencySum {
  readonly units: bigint;
  readonly revenue: Money;
}

/**
 * Sums units and revenue per currency, exactly (decimal, never float: 0.10 + 0.20 is
 * 0.30). Rows of different currencies go to different sums; Money refuses to add two
 * currencies, so a mix-up here throws instead of producing a meaningless number.
 */
export function sumByCurrency(
  rows: readonly SalesRow[],
): ReadonlyMap<string, CurrencySum> {
  const sums = new Map<string, CurrencySum>();
  for (const row of rows) {
    const sum = sums.get(row.currencyCode);
    sums.set(
      row.currencyCode,
      sum
        ? {units: sum.units + row.units, revenue: sum.revenue.plus(row.revenue)}
        : {units: row.units, revenue: row.revenue},
    );
  }
  return sums;
}

/**
 * Assembles a report from the store's figures: orders rows and totals, and checks that
 * the totals agree with the rows: one total per currency that has rows (and no other),
 * keyed TOTAL_KEY, whose units and revenue are the sums of that currency's rows. The
 * store computes both in one snapshot, so a disagreement is a bug; it is reported as
 * one rather than shown to a client as a plausible but wrong report. (Orders cannot be
 * checked this way: an order is in several product rows but counts once in the total.)
 */
export function buildSalesReport(
  period: ReportPeriod,
  groupBy: GroupBy,
  figures: SalesFigures,
  generatedAt: Date,
): SalesReport {
  const rows = [...figures.rows].sort(compareRows);
  const totals = [...figures.totals].sort(compareRows);
  assertUnique(rows, r => `${r.key}\u0000${r.currencyCode}`, 'rows');
  assertUnique(totals, r => r.currencyCode, 'totals');
  const sums = sumByCurrency(rows);
  const agree =
    totals.length === sums.size &&
    totals.every(total => {
      const sum = sums.get(total.currencyCode);
      return (
        total.key === TOTAL_KEY &&
        sum !== undefined &&
        sum.units === total.units &&
        sum.revenue.equals(total.revenue)
      );
    });
  if (!agree) {
    throw new Error(
      `sales totals do not match the rows (${totals.map(t => t.revenue.format()).join(', ')})`,
    );
  }
  return {period, groupBy, rows, totals, generatedAt};
}

function assertUnique(
  rows: readonly SalesRow[],
  identity: (row: SalesRow) => string,
  what: string,
): void {
  const seen = new Set<string>();
  for (const row of rows) {
    const id = identity(row);
    if (seen.has(id)) {
      throw new Error(
        `sales ${what} repeat ${row.key} ${row.currencyCode}; figures must be grouped`,
      );
    }
    seen.add(id);
  }
}
