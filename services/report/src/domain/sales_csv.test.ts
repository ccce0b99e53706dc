import {Money} from '../../../common/money/money.js';
import {csvField, csvText, salesCsv, salesCsvFileName} from './sales_csv.js';
import type {SalesRow} from './sales_report.js';

function row(key: string, currency: string, revenue: string): SalesRow {
  return {
    key,
    currencyCode: currency,
    orders: 2n,
    units: 3n,
    revenue: Money.of(revenue, currency),
  };
}

describe('csvField()', () => {
  it('leaves a plain field as it is', () => {
    expect(csvField('SKU-1')).toBe('SKU-1');
    expect(csvField('1234.50')).toBe('1234.50');
    expect(csvField('')).toBe('');
  });

  it('quotes a field when it contains a comma, CR or LF', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('a\r\nb')).toBe('"a\r\nb"');
    expect(csvField('a\nb')).toBe('"a\nb"');
    expect(csvField('a\rb')).toBe('"a\rb"');
  });

  it('doubles quotes inside a quoted field', () => {
    expect(csvField('12" vinyl')).toBe('"12"" vinyl"');
    expect(csvField('"')).toBe('""""');
  });
});

describe('csvText()', () => {
  it('ends every record, the last one included, with CRLF', () => {
    expect(
      csvText([
        ['a', 'b'],
        ['c', 'd'],
      ]),
    ).toBe('a,b\r\nc,d\r\n');
  });
});

describe('salesCsv()', () => {
  it('writes the header, then one line per row with exact amounts', () => {
    const csv = salesCsv([
      row('2026-11-01', 'EUR', '0.3000'),
      row('2026-11-01', 'JPY', '1500.0000'),
    ]);
    expect(csv).toBe(
      'key,currency_code,orders,units,revenue\r\n' +
        '2026-11-01,EUR,2,3,0.30\r\n' +
        '2026-11-01,JPY,2,3,1500\r\n',
    );
  });

  it('quotes a SKU when it contains a comma or a quote', () => {
    const csv = salesCsv([row('MUG,"BIG"', 'USD', '5.00')]);
    expect(csv.split('\r\n')[1]).toBe('"MUG,""BIG""",USD,2,3,5.00');
  });

  it('writes only the header when there are no rows', () => {
    expect(salesCsv([])).toBe('key,currency_code,orders,units,revenue\r\n');
  });
});

describe('salesCsvFileName()', () => {
  it('names the grouping and the period', () => {
    const period = {startDate: '2026-11-01', endDate: '2026-11-30'};
    expect(salesCsvFileName(period, 'day')).toBe(
      'sales-by-day-2026-11-01-2026-11-30.csv',
    );
    expect(salesCsvFileName(period, 'product')).toBe(
      'sales-by-product-2026-11-01-2026-11-30.csv',
    );
  });
});
