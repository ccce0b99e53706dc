/** Small builders shared by Report's tests. */
import {Money} from '../../common/money/money.js';
import {TOTAL_KEY, type SalesRow} from '../src/domain/sales_report.js';

/** A deterministic UUID: uuid(7) = 00000000-0000-4000-8000-000000000007. */
export function uuid(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

/** A report row; revenue is in `currency`. */
export function salesRow(
  key: string,
  currency: string,
  revenue: string,
  units = 1n,
  orders = 1n,
): SalesRow {
  return {
    key,
    currencyCode: currency,
    orders,
    units,
    revenue: Money.of(revenue, currency),
  };
}

/** The total row of one currency. */
export function totalRow(
  currency: string,
  revenue: string,
  units = 1n,
  orders = 1n,
): SalesRow {
  return salesRow(TOTAL_KEY, currency, revenue, units, orders);
}

/** A clock the test moves by hand. */
export class TestClock {
  constructor(private at = new Date('2026-12-01T08:00:00Z')) {}
  now(): Date {
    return new Date(this.at);
  }
  advance(ms: number): void {
    this.at = new Date(this.at.getTime() + ms);
  }
}
