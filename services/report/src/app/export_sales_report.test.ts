import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '../../../common/errors/domain_error.js';
import {InMemoryReportStore} from '../../test/in_memory_report_store.js';
import {TestClock, uuid} from '../../test/fixtures.js';
import {ExportSalesReport} from './export_sales_report.js';
import {GetReportJob} from './get_report_job.js';
import {GetSalesReport} from './get_sales_report.js';
import {RunReportJobs} from './run_report_jobs.js';
import {StartSalesReportJob} from './start_sales_report_job.js';

describe('ExportSalesReport.execute()', () => {
  let store: InMemoryReportStore;
  let exporter: ExportSalesReport;
  let start: StartSalesReportJob;
  let clock: TestClock;

  beforeEach(() => {
    store = new InMemoryReportStore();
    clock = new TestClock();
    exporter = new ExportSalesReport(store, new GetReportJob(store));
    start = new StartSalesReportJob(store, clock, () => uuid(500));
  });

  const startJob = () =>
    start.execute({
      requestId: uuid(1),
      startDate: '2026-11-01',
      endDate: '2026-11-30',
      groupBy: 'day',
    });

  it('rejects a job when it is still PENDING or RUNNING', async () => {
    const job = await startJob();
    await expect(exporter.execute(job.id)).rejects.toThrow(
      `report job ${job.id} is PENDING`,
    );
    await store.claimJob(clock.now(), 60_000);
    await expect(exporter.execute(job.id)).rejects.toThrow(
      FailedPreconditionError,
    );
  });

  it('rejects a job when it FAILED, saying why', async () => {
    store.figuresError = new InvalidArgumentError('period', 'broken');
    const job = await startJob();
    await new RunReportJobs(store, new GetSalesReport(store, clock), clock, {
      leaseMs: 60_000,
      maxAttempts: 3,
    }).runNext();
    await expect(exporter.execute(job.id)).rejects.toThrow(
      'FAILED (period: broken); start a new job',
    );
  });

  it('rejects an unknown job with NOT_FOUND', async () => {
    await expect(exporter.execute(uuid(9))).rejects.toThrow(NotFoundError);
  });

  it('rejects a job id when it is not a UUID', async () => {
    await expect(exporter.execute('job-1')).rejects.toThrow(
      InvalidArgumentError,
    );
  });

  it('exports a SUCCEEDED job without rows as just the header', async () => {
    const job = await startJob();
    await new RunReportJobs(store, new GetSalesReport(store, clock), clock, {
      leaseMs: 60_000,
      maxAttempts: 3,
    }).runNext();
    const file = await exporter.execute(job.id);
    expect(file.content).toBe('key,currency_code,orders,units,revenue\r\n');
    expect(file.fileName).toBe('sales-by-day-2026-11-01-2026-11-30.csv');
  });
});
