/**
 * ReportService through an in-memory Connect router: the real handlers, use cases and
 * mapper, with the stores in memory. The interceptor does what the service host does to
 * every call (validate the request against the schema rules, map errors to codes).
 */
import {
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
  type Client,
} from '@connectrpc/connect';
import {
  GroupBy,
  ReportJobState,
} from '../../../gen/agora/report/v1/report_pb.js';
import {ReportService} from '../../../gen/agora/report/v1/report_service_pb.js';
import {edgeInterceptor} from '../../common/rpc/http_edge.js';
import {codeOf} from '../../common/testing/rpc.js';
import {ExportSalesReport} from '../src/app/export_sales_report.js';
import {GetReportJob} from '../src/app/get_report_job.js';
import {GetSalesReport} from '../src/app/get_sales_report.js';
import {RunReportJobs} from '../src/app/run_report_jobs.js';
import {StartSalesReportJob} from '../src/app/start_sales_report_job.js';
import {createReportService} from '../src/rpc/report_service.js';
import {salesRow, TestClock, totalRow, uuid} from './fixtures.js';
import {InMemoryReportStore} from './in_memory_report_store.js';

describe('ReportService', () => {
  let client: Client<typeof ReportService>;
  let store: InMemoryReportStore;
  let worker: RunReportJobs;
  let ids: number;

  beforeEach(() => {
    store = new InMemoryReportStore();
    const clock = new TestClock();
    ids = 1000;
    const salesReport = new GetSalesReport(store, clock);
    const getJob = new GetReportJob(store);
    worker = new RunReportJobs(store, salesReport, clock, {
      leaseMs: 60_000,
      maxAttempts: 3,
    });
    const service = createReportService({
      startJob: new StartSalesReportJob(store, clock, () => uuid(++ids)),
      getJob,
      salesReport,
      exportReport: new ExportSalesReport(store, getJob),
    });
    client = createClient(
      ReportService,
      createRouterTransport(router => router.service(ReportService, service), {
        router: {interceptors: [edgeInterceptor()]},
      }),
    );
    store.figures = {
      rows: [
        salesRow('2026-11-01', 'USD', '0.1000', 1n),
        salesRow('2026-11-02', 'USD', '0.2000', 2n),
        salesRow('2026-11-02', 'JPY', '1500.0000', 1n),
      ],
      totals: [totalRow('USD', '0.3000', 3n, 2n), totalRow('JPY', '1500.0000')],
    };
  });

  describe('getSalesReport()', () => {
    it('answers rows and totals with exact Money and int64 counts', async () => {
      const {report} = await client.getSalesReport({
        startDate: '2026-11-01',
        endDate: '2026-11-30',
        groupBy: GroupBy.DAY,
      });
      expect(report?.groupBy).toBe(GroupBy.DAY);
      expect(
        report?.rows.map(r => [
          r.key,
          r.currencyCode,
          r.units,
          r.revenue?.amount,
        ]),
      ).toEqual([
        ['2026-11-01', 'USD', 1n, '0.10'],
        ['2026-11-02', 'JPY', 1n, '1500'],
        ['2026-11-02', 'USD', 2n, '0.20'],
      ]);
      expect(
        report?.totals.map(t => [
          t.key,
          t.currencyCode,
          t.orders,
          t.revenue?.amount,
        ]),
      ).toEqual([
        ['total', 'JPY', 1n, '1500'],
        ['total', 'USD', 2n, '0.30'],
      ]);
      expect(report?.generateTime).toBeDefined();
    });

    it('rejects dates when they are not real calendar dates, naming the field', async () => {
      const err = await client
        .getSalesReport({
          startDate: '2026-02-30',
          endDate: '2026-03-01',
          groupBy: GroupBy.DAY,
        })
        .catch((e: unknown) => ConnectError.from(e));
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.InvalidArgument);
      expect((err as ConnectError).rawMessage).toContain('start_date');
    });

    it('rejects a malformed date or an unspecified grouping at the schema', async () => {
      expect(
        await codeOf(
          client.getSalesReport({
            startDate: '2026-2-1',
            endDate: '2026-03-01',
            groupBy: GroupBy.DAY,
          }),
        ),
      ).toBe(Code.InvalidArgument);
      expect(
        await codeOf(
          client.getSalesReport({
            startDate: '2026-02-01',
            endDate: '2026-03-01',
          }),
        ),
      ).toBe(Code.InvalidArgument);
    });
  });

  describe('report jobs', () => {
    const request = {
      requestId: uuid(1),
      startDate: '2026-11-01',
      endDate: '2026-11-30',
      groupBy: GroupBy.DAY,
    };

    it('starts a job, runs it and exports its CSV', async () => {
      const {job} = await client.startSalesReportJob(request);
      expect(job?.state).toBe(ReportJobState.PENDING);
      const jobId = job?.jobId ?? '';
      expect(await codeOf(client.exportSalesReport({jobId}))).toBe(
        Code.FailedPrecondition,
      );

      await worker.runNext();

      const done = (await client.getReportJob({jobId})).job;
      expect(done?.state).toBe(ReportJobState.SUCCEEDED);
      expect(done?.rowCount).toBe(3);
      expect(done?.finishTime).toBeDefined();
      const file = await client.exportSalesReport({jobId});
      expect(file.fileName).toBe('sales-by-day-2026-11-01-2026-11-30.csv');
      expect(file.contentType).toBe('text/csv; charset=utf-8');
      expect(new TextDecoder().decode(file.content)).toBe(
        'key,currency_code,orders,units,revenue\r\n' +
          '2026-11-01,USD,1,1,0.10\r\n' +
          '2026-11-02,JPY,1,1,1500\r\n' +
          '2026-11-02,USD,1,2,0.20\r\n',
      );
    });

    it('returns the same job for a retried request and ALREADY_EXISTS for a changed one', async () => {
      const first = await client.startSalesReportJob(request);
      const again = await client.startSalesReportJob(request);
      expect(again.job?.jobId).toBe(first.job?.jobId);
      expect(
        await codeOf(
          client.startSalesReportJob({...request, groupBy: GroupBy.PRODUCT}),
        ),
      ).toBe(Code.AlreadyExists);
    });

    it('rejects a job for an impossible period with INVALID_ARGUMENT', async () => {
      expect(
        await codeOf(
          client.startSalesReportJob({...request, endDate: '2026-10-31'}),
        ),
      ).toBe(Code.InvalidArgument);
    });

    it('answers NOT_FOUND for an unknown job', async () => {
      expect(await codeOf(client.getReportJob({jobId: uuid(77)}))).toBe(
        Code.NotFound,
      );
      expect(await codeOf(client.exportSalesReport({jobId: uuid(77)}))).toBe(
        Code.NotFound,
      );
    });
  });
});
