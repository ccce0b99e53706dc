import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import {InMemoryReportStore} from '../../test/in_memory_report_store.js';
import {salesRow, TestClock, totalRow} from '../../test/fixtures.js';
import {GetSalesReport} from './get_sales_report.js';

describe('GetSalesReport.execute()', () => {
  let store: InMemoryReportStore;
  let clock: TestClock;
  let report: GetSalesReport;

  beforeEach(() => {
    store = new InMemoryReportStore();
    clock = new TestClock();
    report = new GetSalesReport(store, clock);
  });

  it('rejects bad dates before reading any sales', async () => {
    await expect(
      report.execute({
        startDate: '2026-02-30',
        endDate: '2026-03-01',
        groupBy: 'day',
      }),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(
      report.execute({
        startDate: '2026-03-02',
        endDate: '2026-03-01',
        groupBy: 'day',
      }),
    ).rejects.toThrow('end_date');
    await expect(
      report.execute({
        startDate: '2025-01-01',
        endDate: '2026-12-31',
        groupBy: 'day',
      }),
    ).rejects.toThrow('end_date');
    expect(store.specsAsked).toEqual([]);
  });

  it('asks the store for the checked period and returns ordered rows with per-currency totals', async () => {
    store.figures = {
      rows: [
        salesRow('2026-11-02', 'USD', '0.2000'),
        salesRow('2026-11-01', 'USD', '0.1000'),
        salesRow('2026-11-01', 'EUR', '9.9900'),
      ],
      totals: [totalRow('USD', '0.3000', 2n, 2n), totalRow('EUR', '9.9900')],
    };
    const result = await report.execute({
      startDate: '2026-11-01',
      endDate: '2026-11-30',
      groupBy: 'day',
    });
    expect(store.specsAsked).toEqual([
      {
        period: {startDate: '2026-11-01', endDate: '2026-11-30'},
        groupBy: 'day',
      },
    ]);
    expect(
      result.rows.map(r => [r.key, r.currencyCode, r.revenue.toString()]),
    ).toEqual([
      ['2026-11-01', 'EUR', '9.99'],
      ['2026-11-01', 'USD', '0.10'],
      ['2026-11-02', 'USD', '0.20'],
    ]);
    expect(
      result.totals.map(t => [t.key, t.currencyCode, t.revenue.toString()]),
    ).toEqual([
      ['total', 'EUR', '9.99'],
      ['total', 'USD', '0.30'],
    ]);
    expect(result.generatedAt).toEqual(clock.now());
  });
});
