/**
 * Integration: PgReportStore and the use cases on the real PostgreSQL
 * (AGORA_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/agora), in a schema
 * of its own that is dropped afterwards. This is where the aggregation SQL is proven:
 * exact NUMERIC sums, currencies kept apart, distinct orders, UTC days, idempotent
 * inserts, and job claims shared between concurrent workers.
 */
import {randomUUID} from 'node:crypto';
import pg from 'pg';
import {openDatabase, type Database} from '../../common/db/database.js';
import {createLogger} from '../../common/log/logger.js';
import {Money} from '../../common/money/money.js';
import {ExportSalesReport} from '../src/app/export_sales_report.js';
import {GetReportJob} from '../src/app/get_report_job.js';
import {GetSalesReport} from '../src/app/get_sales_report.js';
import {RunReportJobs} from '../src/app/run_report_jobs.js';
import {StartSalesReportJob} from '../src/app/start_sales_report_job.js';
import type {OrderPaid} from '../src/domain/order_facts.js';
import {ReportJob} from '../src/domain/report_job.js';
import type {GroupBy, SalesReport} from '../src/domain/sales_report.js';
import {REPORT_MIGRATIONS} from '../src/infra/migrations/0001_initial.js';
import {PgReportStore} from '../src/infra/pg_report_store.js';

// A zone west of UTC: a `date` read as a JS Date would land on the previous day, and a
// "day" taken from local time would be wrong. Everything below must still be UTC.
process.env.TZ = 'America/Los_Angeles';

const URL =
  process.env.AGORA_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/agora';
const SCHEMA = `report_test_${process.pid}_${Date.now()}`;

type Line = [
  sku: string,
  quantity: number,
  unitPrice: string,
  currency?: string,
];

function paid(orderId: string, paidAt: string, ...lines: Line[]): OrderPaid {
  return {
    kind: 'paid',
    eventId: randomUUID(),
    orderId,
    paidAt: new Date(paidAt),
    lines: lines.map(([sku, quantity, price, currency = 'USD'], i) => ({
      lineNo: i + 1,
      sku,
      quantity,
      unitPrice: Money.parse(price, currency),
      lineTotal: Money.parse(price, currency).times(quantity),
    })),
  };
}

/** Rows as "key currency orders units revenue" strings, easy to compare. */
function flat(report: SalesReport): {rows: string[]; totals: string[]} {
  const text = (r: SalesReport['rows'][number]) =>
    `${r.key} ${r.currencyCode} ${r.orders} ${r.units} ${r.revenue}`;
  return {rows: report.rows.map(text), totals: report.totals.map(text)};
}

// Opened at load time: a database that cannot be reached then fails the suite once,
// with its own message, instead of once per test.
const db: Database = await openDatabase({
  url: URL,
  schema: SCHEMA,
  migrations: REPORT_MIGRATIONS,
  poolSize: 8,
  log: createLogger('report-test', 'error'),
});

describe('PgReportStore', () => {
  const store = new PgReportStore(db);
  const clock = {now: () => new Date()};
  const report = new GetSalesReport(store, clock);

  afterAll(async () => {
    await db.close();
    const admin = new pg.Client({connectionString: URL});
    await admin.connect();
    await admin.query(`drop schema if exists "${SCHEMA}" cascade`);
    await admin.end();
  });

  beforeEach(async () => {
    await db.execute('truncate sale_line, sale_adjustment, report_job cascade');
  });

  const salesReport = (startDate: string, endDate: string, groupBy: GroupBy) =>
    report.execute({startDate, endDate, groupBy});

  describe('salesFigures()', () => {
    it('sums revenue exactly: 0.10 + 0.20 is 0.30, in the rows and the totals', async () => {
      await store.recordSales([
        paid('o-1', '2026-11-05T10:00:00Z', ['MUG', 1, '0.10']),
      ]);
      await store.recordSales([
        paid('o-2', '2026-11-05T11:00:00Z', ['MUG', 1, '0.20']),
      ]);
      expect(
        flat(await salesReport('2026-11-01', '2026-11-30', 'day')),
      ).toEqual({
        rows: ['2026-11-05 USD 2 2 0.30'],
        totals: ['total USD 2 2 0.30'],
      });
    });

    it('never adds amounts of different currencies together', async () => {
      await store.recordSales([
        paid('o-1', '2026-11-05T10:00:00Z', ['MUG', 2, '9.99']),
      ]);
      await store.recordSales([
        paid('o-2', '2026-11-05T10:00:00Z', ['MUG', 1, '8.50', 'EUR']),
      ]);
      await store.recordSales([
        paid('o-3', '2026-11-06T10:00:00Z', ['MUG', 3, '1500', 'JPY']),
      ]);
      expect(
        flat(await salesReport('2026-11-01', '2026-11-30', 'product')),
      ).toEqual({
        rows: ['MUG EUR 1 1 8.50', 'MUG JPY 1 3 4500', 'MUG USD 1 2 19.98'],
        totals: [
          'total EUR 1 1 8.50',
          'total JPY 1 3 4500',
          'total USD 1 2 19.98',
        ],
      });
    });

    it('counts an order once per group and once in the total', async () => {
      await store.recordSales([
        paid(
          'o-1',
          '2026-11-05T10:00:00Z',
          ['MUG', 1, '5.00'],
          ['CAP', 2, '7.25'],
        ),
      ]);
      await store.recordSales([
        paid('o-2', '2026-11-05T12:00:00Z', ['MUG', 4, '5.00']),
      ]);
      expect(
        flat(await salesReport('2026-11-05', '2026-11-05', 'product')),
      ).toEqual({
        rows: ['CAP USD 1 2 14.50', 'MUG USD 2 5 25.00'],
        totals: ['total USD 2 7 39.50'],
      });
      expect(
        flat(await salesReport('2026-11-05', '2026-11-05', 'day')).rows,
      ).toEqual(['2026-11-05 USD 2 7 39.50']);
    });

    it('puts a sale on the UTC day it was paid, whatever the local zone, and omits days without sales', async () => {
      await store.recordSales([
        paid('o-1', '2026-11-30T23:59:59.999Z', ['MUG', 1, '1.00']),
      ]);
      await store.recordSales([
        paid('o-2', '2026-12-01T00:00:00Z', ['MUG', 1, '2.00']),
      ]);
      await store.recordSales([
        paid('o-3', '2026-11-01T00:30:00+02:00', ['MUG', 1, '4.00']),
      ]);
      expect(
        flat(await salesReport('2026-10-31', '2026-11-30', 'day')).rows,
      ).toEqual(['2026-10-31 USD 1 1 4.00', '2026-11-30 USD 1 1 1.00']);
      expect(
        flat(await salesReport('2026-12-01', '2026-12-01', 'day')).rows,
      ).toEqual(['2026-12-01 USD 1 1 2.00']);
    });

    it('answers an empty report for a period without sales', async () => {
      expect(
        flat(await salesReport('2026-01-01', '2026-12-31', 'day')),
      ).toEqual({
        rows: [],
        totals: [],
      });
    });
  });

  describe('recordSales() and recordRefund()', () => {
    it('ignores a redelivered paid order: its lines count once', async () => {
      const order = paid(
        'o-1',
        '2026-11-05T10:00:00Z',
        ['MUG', 1, '0.10'],
        ['CAP', 1, '0.20'],
      );
      expect(await store.recordSales([order])).toBe(2);
      expect(await store.recordSales([order])).toBe(0);
      expect(await store.recordSales([{...order, eventId: randomUUID()}])).toBe(
        0,
      );
      expect(
        flat(await salesReport('2026-11-05', '2026-11-05', 'day')).totals,
      ).toEqual(['total USD 1 2 0.30']);
    });

    it('stores many orders in one call, skipping the lines it already has', async () => {
      const first = paid('o-1', '2026-11-05T10:00:00Z', ['MUG', 1, '1.10']);
      expect(await store.recordSales([first])).toBe(1);
      expect(
        await store.recordSales([
          first,
          paid(
            'o-2',
            '2026-11-05T11:00:00Z',
            ['MUG', 2, '1.10'],
            ['CAP', 1, '3.00'],
          ),
          paid('o-3', '2026-11-06T09:00:00Z', ['CAP', 1, '3.00', 'EUR']),
        ]),
      ).toBe(3);
      expect(
        flat(await salesReport('2026-11-05', '2026-11-06', 'product')),
      ).toEqual({
        rows: ['CAP EUR 1 1 3.00', 'CAP USD 1 1 3.00', 'MUG USD 2 3 3.30'],
        totals: ['total EUR 1 1 3.00', 'total USD 2 4 6.30'],
      });
    });

    it('stores a refund once per event and leaves the gross sales as they were', async () => {
      await store.recordSales([
        paid('o-1', '2026-11-05T10:00:00Z', ['MUG', 1, '10.00']),
      ]);
      const refund = {
        kind: 'refunded' as const,
        eventId: randomUUID(),
        orderId: 'o-1',
        at: new Date('2026-11-06T10:00:00Z'),
        refundedToDate: Money.parse('4.00', 'USD'),
      };
      expect(await store.recordRefund(refund)).toBe(true);
      expect(await store.recordRefund(refund)).toBe(false);
      const rows = await db.query<{amount: string; kind: string}>(
        'select amount, kind from sale_adjustment',
      );
      expect(rows).toEqual([{amount: '4.0000', kind: 'refunded'}]);
      expect(
        flat(await salesReport('2026-11-05', '2026-11-06', 'day')).totals,
      ).toEqual(['total USD 1 1 10.00']);
    });
  });

  describe('report jobs', () => {
    const newJob = (requestId = randomUUID(), createdAt = new Date()) =>
      ReportJob.create({
        id: randomUUID(),
        requestId,
        spec: {
          period: {startDate: '2026-11-01', endDate: '2026-11-30'},
          groupBy: 'day',
        },
        createdAt,
      });

    it('keeps dates as calendar days, not shifted by the time zone', async () => {
      const job = newJob();
      await store.insertJob(job);
      expect((await store.findJob(job.id))?.spec.period).toEqual({
        startDate: '2026-11-01',
        endDate: '2026-11-30',
      });
    });

    it('refuses a second job with the same request id', async () => {
      const requestId = randomUUID();
      expect(await store.insertJob(newJob(requestId))).toBe(true);
      expect(await store.insertJob(newJob(requestId))).toBe(false);
    });

    it('gives each waiting job to one of the workers claiming at once', async () => {
      const jobs = [newJob(), newJob(), newJob()];
      for (const job of jobs) await store.insertJob(job);
      const claims = await Promise.all(
        Array.from({length: 6}, () => store.claimJob(new Date(), 60_000)),
      );
      const claimed = claims.filter(c => c !== undefined).map(c => c.id);
      expect(claimed.sort()).toEqual(jobs.map(j => j.id).sort());
    });

    it('writes nothing for a worker whose lease ran out and whose job was claimed again', async () => {
      const job = newJob();
      await store.insertJob(job);
      const first = await store.claimJob(new Date(), 1);
      await new Promise(r => setTimeout(r, 5));
      const second = await store.claimJob(new Date(), 60_000);
      expect(second?.attempt).toBe(2);
      const late = await report.compute(first!.spec);
      first!.succeed(late.rows.length, new Date());
      expect(await store.saveSucceeded(first!, late)).toBe(false);
      expect((await store.findJob(job.id))?.state).toBe('running');
    });

    it('runs a job end to end and exports the stored rows as CSV', async () => {
      await store.recordSales([
        paid(
          'o-1',
          '2026-11-05T10:00:00Z',
          ['MUG,"XL"', 1, '0.10'],
          ['CAP', 1, '0.20', 'EUR'],
        ),
      ]);
      await store.recordSales([
        paid('o-2', '2026-11-05T10:00:00Z', ['MUG,"XL"', 2, '0.10']),
      ]);
      const start = new StartSalesReportJob(store, clock, randomUUID);
      const job = await start.execute({
        requestId: randomUUID(),
        startDate: '2026-11-01',
        endDate: '2026-11-30',
        groupBy: 'product',
      });
      const run = new RunReportJobs(store, report, clock, {
        leaseMs: 60_000,
        maxAttempts: 3,
      });
      expect((await run.runNext())?.saved).toBe(true);

      const done = await store.findJob(job.id);
      expect(done?.state).toBe('succeeded');
      expect(done?.rowCount).toBe(2);
      const totals = await db.query<{key: string; revenue: string}>(
        `select key, revenue from report_row where job_id = $1 and section = 'total'
          order by position`,
        [job.id],
      );
      expect(totals).toEqual([
        {key: 'total', revenue: '0.20'},
        {key: 'total', revenue: '0.30'},
      ]);
      const file = await new ExportSalesReport(
        store,
        new GetReportJob(store),
      ).execute(job.id);
      expect(file.content).toBe(
        'key,currency_code,orders,units,revenue\r\n' +
          'CAP,EUR,1,1,0.20\r\n' +
          '"MUG,""XL""",USD,2,3,0.30\r\n',
      );
    });
  });
});
