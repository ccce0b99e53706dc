import {CurrencyMismatchError, Money} from '../../../common/money/money.js';
import {
  buildSalesReport,
  compareRows,
  sumByCurrency,
  TOTAL_KEY,
  type SalesRow,
} from './sales_report.js';
import {salesRow} from '../../test/fixtures.js';

const period = {startDate: '2026-11-01', endDate: '2026-11-30'};
const at = new Date('2026-12-01T08:00:00Z');

describe('sumByCurrency()', () => {
  it('adds amounts exactly: 0.10 + 0.20 is 0.30', () => {
    const sums = sumByCurrency([
      salesRow('A', 'USD', '0.10'),
      salesRow('B', 'USD', '0.20'),
    ]);
    expect(sums.get('USD')?.revenue.toString()).toBe('0.30');
    expect(0.1 + 0.2).not.toBe(0.3); // what a float would have given
  });

  it('keeps amounts as PostgreSQL sums them: "0.3000" reads back as "0.30"', () => {
    const sums = sumByCurrency([
      salesRow('A', 'USD', '0.1000'),
      salesRow('B', 'USD', '0.2000'),
    ]);
    expect(sums.get('USD')?.revenue.toString()).toBe('0.30');
  });

  it('never adds rows of different currencies together', () => {
    const sums = sumByCurrency([
      salesRow('A', 'USD', '10.00', 2n),
      salesRow('A', 'EUR', '7.50', 1n),
      salesRow('B', 'USD', '0.01', 3n),
      salesRow('B', 'JPY', '1500', 4n),
    ]);
    expect([...sums.keys()].sort()).toEqual(['EUR', 'JPY', 'USD']);
    expect(sums.get('USD')).toEqual({
      units: 5n,
      revenue: Money.of('10.01', 'USD'),
    });
    expect(sums.get('EUR')?.revenue.format()).toBe('7.50 EUR');
    expect(sums.get('JPY')?.revenue.format()).toBe('1500 JPY');
  });

  it('sums beyond what a double holds exactly', () => {
    const big = '999999999999999999.9999';
    const sums = sumByCurrency([
      salesRow('A', 'USD', big),
      salesRow('B', 'USD', '0.0001'),
    ]);
    expect(sums.get('USD')?.revenue.toString()).toBe('1000000000000000000.00');
  });

  it('throws rather than add a row whose revenue is in another currency', () => {
    const odd: SalesRow = {
      ...salesRow('A', 'USD', '1.00'),
      revenue: Money.of('1.00', 'EUR'),
    };
    expect(() => sumByCurrency([salesRow('B', 'USD', '1.00'), odd])).toThrow(
      CurrencyMismatchError,
    );
  });
});

describe('compareRows()', () => {
  it('orders by key, then currency, by code unit and not by locale', () => {
    const rows = [
      salesRow('b', 'USD', '1'),
      salesRow('B', 'USD', '1'),
      salesRow('a-1', 'USD', '1'),
      salesRow('a1', 'USD', '1'),
      salesRow('B', 'EUR', '1'),
    ].sort(compareRows);
    expect(rows.map(r => `${r.key} ${r.currencyCode}`)).toEqual([
      'B EUR',
      'B USD',
      'a-1 USD',
      'a1 USD',
      'b USD',
    ]);
  });
});

describe('buildSalesReport()', () => {
  it('orders rows and totals and keeps one total per currency', () => {
    const report = buildSalesReport(
      period,
      'day',
      {
        rows: [
          salesRow('2026-11-02', 'USD', '0.20', 2n),
          salesRow('2026-11-01', 'USD', '0.10', 1n),
          salesRow('2026-11-01', 'EUR', '5.00', 1n),
        ],
        totals: [
          salesRow(TOTAL_KEY, 'USD', '0.3000', 3n, 2n),
          salesRow(TOTAL_KEY, 'EUR', '5.0000', 1n),
        ],
      },
      at,
    );
    expect(report.rows.map(r => `${r.key} ${r.currencyCode}`)).toEqual([
      '2026-11-01 EUR',
      '2026-11-01 USD',
      '2026-11-02 USD',
    ]);
    expect(report.totals.map(t => `${t.currencyCode} ${t.revenue}`)).toEqual([
      'EUR 5.00',
      'USD 0.30',
    ]);
    expect(report.generatedAt).toBe(at);
  });

  it('builds an empty report when nothing was sold', () => {
    const report = buildSalesReport(
      period,
      'product',
      {rows: [], totals: []},
      at,
    );
    expect(report.rows).toEqual([]);
    expect(report.totals).toEqual([]);
  });

  it('rejects figures when a total disagrees with its rows', () => {
    expect(() =>
      buildSalesReport(
        period,
        'day',
        {
          rows: [
            salesRow('2026-11-01', 'USD', '0.10'),
            salesRow('2026-11-02', 'USD', '0.20'),
          ],
          totals: [salesRow(TOTAL_KEY, 'USD', '0.31', 2n)],
        },
        at,
      ),
    ).toThrow('sales totals do not match the rows');
  });

  it('rejects figures when a currency has rows but no total', () => {
    expect(() =>
      buildSalesReport(
        period,
        'day',
        {
          rows: [
            salesRow('2026-11-01', 'USD', '1.00'),
            salesRow('2026-11-01', 'EUR', '1.00'),
          ],
          totals: [salesRow(TOTAL_KEY, 'USD', '1.00')],
        },
        at,
      ),
    ).toThrow('sales totals do not match the rows');
  });

  it('rejects figures when a key and currency repeat', () => {
    expect(() =>
      buildSalesReport(
        period,
        'product',
        {
          rows: [salesRow('A', 'USD', '1.00'), salesRow('A', 'USD', '2.00')],
          totals: [salesRow(TOTAL_KEY, 'USD', '3.00', 2n)],
        },
        at,
      ),
    ).toThrow('repeat A USD');
  });
});
