/**
 * The period a sales report covers: whole UTC days, first and last day included.
 *
 * Dates travel as "YYYY-MM-DD" strings and stay strings here: a JS Date for a calendar
 * day invites time-zone slips (local midnight is not UTC midnight). Instants are made
 * only at the edge, for the database query, and always in UTC.
 */
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';

/** The longest distance between start_date and end_date (the API contract). */
export const MAX_PERIOD_DAYS = 366;

const DAY_MS = 24 * 60 * 60 * 1000;
const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

export interface ReportPeriod {
  /** First UTC day included, "YYYY-MM-DD". */
  readonly startDate: string;
  /** Last UTC day included, "YYYY-MM-DD". */
  readonly endDate: string;
}

/**
 * Checks a period and returns it. Each date must be a real calendar day (2026-02-30 and
 * 2025-02-29 are refused, 2024-02-29 is fine); end_date must not be before start_date
 * and at most MAX_PERIOD_DAYS after it. Errors name the field to fix.
 */
export function parseReportPeriod(
  startDate: string,
  endDate: string,
): ReportPeriod {
  const start = parseUtcDay('start_date', startDate);
  const end = parseUtcDay('end_date', endDate);
  if (end < start) {
    throw new InvalidArgumentError(
      'end_date',
      `${endDate} is before start_date ${startDate}`,
    );
  }
  const days = (end - start) / DAY_MS;
  if (days > MAX_PERIOD_DAYS) {
    throw new InvalidArgumentError(
      'end_date',
      `must be at most ${MAX_PERIOD_DAYS} days after start_date ${startDate}, got ${days} days; split the report`,
    );
  }
  return {startDate, endDate};
}

/** The first instant of the period: start_date at 00:00 UTC (inclusive). */
export function periodStart(period: ReportPeriod): Date {
  return new Date(parseUtcDay('start_date', period.startDate));
}

/**
 * The first instant after the period: the day after end_date at 00:00 UTC. Queries use
 * `paid_at < periodEnd`, so a sale at 23:59:59.999999 on end_date is included and one
 * at midnight belongs to the next day, with no gap and no overlap between periods.
 */
export function periodEnd(period: ReportPeriod): Date {
  return new Date(parseUtcDay('end_date', period.endDate) + DAY_MS);
}

/** Milliseconds since the epoch of `value` at 00:00 UTC, or an error naming `field`. */
function parseUtcDay(field: string, value: string): number {
  const match = DATE_PATTERN.exec(value);
  if (!match) {
    throw new InvalidArgumentError(
      field,
      `${JSON.stringify(value)} is not a date in the form YYYY-MM-DD`,
    );
  }
  const [year, month, day] = match.slice(1).map(Number);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0–99 to 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  // Out-of-range parts roll over (February 30 becomes March 2), so a date is real
  // exactly when it survives the round trip. Year 0 does not exist in PostgreSQL's
  // calendar (1 BC comes before AD 1), so it is refused too.
  const real =
    year >= 1 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day;
  if (!real) {
    throw new InvalidArgumentError(
      field,
      `${JSON.stringify(value)} is not a calendar date`,
    );
  }
  return date.getTime();
}
