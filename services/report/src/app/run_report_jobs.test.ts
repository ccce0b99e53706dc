import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import type {ReportSpec} from '../domain/report_job.js';
import type {SalesReport} from '../domain/sales_report.js';
import {InMemoryReportStore} from '../../test/in_memory_report_store.js';
import {salesRow, TestClock, totalRow, uuid} from '../../test/fixtures.js';
import {ExportSalesReport} from './export_sales_report.js';
import {GetReportJob} from './get_report_job.js';
import {GetSalesReport} from './get_sales_report.js';
import {INTERNAL_FAILURE_MESSAGE, RunReportJobs} from './run_report_jobs.js';
import {StartSalesReportJob} from './start_sales_report_job.js';

describe('RunReportJobs.runNext()', () => {
  const leaseMs = 60_000;
  let store: InMemoryReportStore;
  let clock: TestClock;
  let run: RunReportJobs;
  let start: StartSalesReportJob;
  let exporter: ExportSalesReport;
  let ids: number;

  beforeEach(() => {
    store = new InMemoryReportStore();
    clock = new TestClock();
    ids = 100;
    run = new RunReportJobs(store, new GetSalesReport(store, clock), clock, {
      leaseMs,
      maxAttempts: 2,
    });
    start = new StartSalesReportJob(store, clock, () => uuid(++ids));
    exporter = new ExportSalesReport(store, new GetReportJob(store));
  });

  const startJob = (n = 1) =>
    start.execute({
      requestId: uuid(n),
      startDate: '2026-11-01',
      endDate: '2026-11-30',
      groupBy: 'product',
    });

  it('returns undefined when no job is waiting', async () => {
    expect(await run.runNext()).toBeUndefined();
  });

  it('computes a job, stores rows and totals and marks it SUCCEEDED', async () => {
    store.figures = {
      rows: [
        salesRow('MUG', 'USD', '0.2000', 2n),
        salesRow('CAP', 'USD', '0.1000', 1n),
        salesRow('CAP', 'EUR', '3.0000', 1n),
      ],
      totals: [totalRow('USD', '0.3000', 3n, 2n), totalRow('EUR', '3.0000')],
    };
    const job = await startJob();
    clock.advance(1000);

    const outcome = await run.runNext();

    expect(outcome?.saved).toBe(true);
    const done = await store.findJob(job.id);
    expect(done?.state).toBe('succeeded');
    expect(done?.rowCount).toBe(3);
    expect(done?.finishedAt).toEqual(clock.now());
    expect(store.specsAsked).toEqual([job.spec]);
    expect(store.reportOf(job.id)?.totals.map(t => t.revenue.format())).toEqual(
      ['3.00 EUR', '0.30 USD'],
    );
    const csv = await exporter.execute(job.id);
    expect(csv.content).toBe(
      'key,currency_code,orders,units,revenue\r\n' +
        'CAP,EUR,1,1,3.00\r\n' +
        'CAP,USD,1,1,0.10\r\n' +
        'MUG,USD,1,2,0.20\r\n',
    );
    expect(csv.fileName).toBe('sales-by-product-2026-11-01-2026-11-30.csv');
    expect(csv.contentType).toBe('text/csv; charset=utf-8');
    expect(await run.runNext()).toBeUndefined();
  });

  it('marks a job FAILED with the message of a domain error', async () => {
    store.figuresError = new InvalidArgumentError('group_by', 'not supported');
    const job = await startJob();
    const outcome = await run.runNext();
    expect(outcome?.cause).toBe(store.figuresError);
    const failed = await store.findJob(job.id);
    expect(failed?.state).toBe('failed');
    expect(failed?.errorMessage).toBe('group_by: not supported');
  });

  it('hides the details of an unexpected error from clients but keeps them for the log', async () => {
    store.figuresError = new Error('relation "sale_line" does not exist');
    const job = await startJob();
    const outcome = await run.runNext();
    expect(outcome?.cause).toBe(store.figuresError);
    expect((await store.findJob(job.id))?.errorMessage).toBe(
      INTERNAL_FAILURE_MESSAGE,
    );
  });

  it('claims a RUNNING job again once its lease ran out, and gives up after maxAttempts', async () => {
    const job = await startJob();
    await store.claimJob(clock.now(), leaseMs); // attempt 1: that worker died
    expect(await run.runNext()).toBeUndefined(); // still leased
    clock.advance(leaseMs);
    await store.claimJob(clock.now(), leaseMs); // attempt 2: died too
    clock.advance(leaseMs);

    const outcome = await run.runNext(); // attempt 3 > maxAttempts

    expect(outcome?.job.state).toBe('failed');
    const failed = await store.findJob(job.id);
    expect(failed?.state).toBe('failed');
    expect(failed?.errorMessage).toMatch(/^gave up after 2 attempts/);
  });

  it('drops its result when another worker took the job over', async () => {
    store.figures = {
      rows: [salesRow('MUG', 'USD', '1.00')],
      totals: [totalRow('USD', '1.00')],
    };
    const job = await startJob();
    // While this worker computes, its lease runs out and another worker claims the job.
    class SlowReport extends GetSalesReport {
      override async compute(spec: ReportSpec): Promise<SalesReport> {
        clock.advance(leaseMs);
        await store.claimJob(clock.now(), leaseMs);
        return super.compute(spec);
      }
    }
    const slow = new RunReportJobs(store, new SlowReport(store, clock), clock, {
      leaseMs,
      maxAttempts: 3,
    });
    const outcome = await slow.runNext();
    expect(outcome?.saved).toBe(false);
    const stored = await store.findJob(job.id);
    expect(stored?.state).toBe('running');
    expect(stored?.attempt).toBe(2);
  });
});
