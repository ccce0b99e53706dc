/**
 * A sales report as a CSV file (RFC 4180), for spreadsheets and finance tools.
 *
 * RFC 4180: records end with CRLF (the last one too, which the RFC allows and which
 * keeps concatenated exports well formed); a field containing a comma, a double quote,
 * CR or LF is enclosed in double quotes, and a double quote inside it is doubled. Other
 * fields are written as they are, so amounts stay plain ("1234.50"), never quoted or
 * thousands-separated. Only the rows are written, one line each: the totals are left
 * out so that summing a column in a spreadsheet gives the total instead of twice it.
 */
import type {ReportPeriod} from './report_period.js';
import type {GroupBy, SalesRow} from './sales_report.js';

export const CSV_CONTENT_TYPE = 'text/csv; charset=utf-8';

/** The header record, in column order. */
export const SALES_CSV_HEADER = [
  'key',
  'currency_code',
  'orders',
  'units',
  'revenue',
] as const;

const NEEDS_QUOTES = /[",\r\n]/;

/** One field, quoted only when RFC 4180 requires it. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Records joined into CSV text, each ending in CRLF. */
export function csvText(records: ReadonlyArray<readonly string[]>): string {
  return records.map(r => r.map(csvField).join(',') + '\r\n').join('');
}

/** The report rows as CSV: the header, then one line per row, in report order. */
export function salesCsv(rows: readonly SalesRow[]): string {
  return csvText([
    SALES_CSV_HEADER,
    ...rows.map(r => [
      r.key,
      r.currencyCode,
      r.orders.toString(),
      r.units.toString(),
      r.revenue.toString(),
    ]),
  ]);
}

/** A file name that says what is inside: "sales-by-day-2026-11-01-2026-11-30.csv". */
export function salesCsvFileName(
  period: ReportPeriod,
  groupBy: GroupBy,
): string {
  return `sales-by-${groupBy}-${period.startDate}-${period.endDate}.csv`;
}
