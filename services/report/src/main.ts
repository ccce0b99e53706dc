/**
 * Report's composition root: configuration, PostgreSQL, the event bus subscription that
 * feeds the sales copy, the job worker, the use cases and the RPC handlers, built once
 * here and nowhere else.
 */
import {randomUUID} from 'node:crypto';
import {ReportService} from '../../../gen/agora/report/v1/report_service_pb.js';
import {openDatabase, type MigrationModule} from '../../common/db/database.js';
import {EventBus} from '../../common/messaging/event_bus.js';
import {REPORT_ORDER_EVENTS} from '../../common/messaging/topics.js';
import {runService} from '../../common/process/run_service.js';
import {bindService} from '../../common/rpc/http_edge.js';
import {ExportSalesReport} from './app/export_sales_report.js';
import {GetReportJob} from './app/get_report_job.js';
import {GetSalesReport} from './app/get_sales_report.js';
import {RecordOrderEvent} from './app/record_order_event.js';
import {RunReportJobs} from './app/run_report_jobs.js';
import {StartSalesReportJob} from './app/start_sales_report_job.js';
import {PgReportStore} from './infra/pg_report_store.js';
import {ReportJobWorker} from './infra/report_job_worker.js';
import {
  createOrderEventBatchHandler,
  createOrderEventHandler,
} from './events/order_events.js';
import {createReportService} from './rpc/report_service.js';

// The migrations run in a child process, so this one never loads MikroORM.
const MIGRATIONS: MigrationModule = {
  service: 'report',
  module: new URL('./infra/migrations/0001_initial.js', import.meta.url).href,
  exportName:
    'REPORT_MIGRATIONS' satisfies keyof typeof import('./infra/migrations/0001_initial.js'),
};

await runService('report', async ({config, env, log, onStop, readiness}) => {
  const pollMs = env.int('AGORA_REPORT_JOB_POLL_MS', 500, 10, 60_000);
  const leaseMs = env.int(
    'AGORA_REPORT_JOB_LEASE_MS',
    10 * 60 * 1000,
    1000,
    86_400_000,
  );
  const maxAttempts = env.int('AGORA_REPORT_JOB_MAX_ATTEMPTS', 3, 1, 100);

  const db = await openDatabase({
    url: config.databaseUrl,
    schema: 'report',
    migrations: MIGRATIONS,
    poolSize: config.dbPoolSize,
    log,
    timeouts: config.dbTimeouts,
  });
  onStop.push(() => db.close());
  readiness.push({name: 'postgresql', check: ms => db.ping(ms)});

  const store = new PgReportStore(db);
  const clock = {now: () => new Date()};
  const salesReport = new GetSalesReport(store, clock);
  const getJob = new GetReportJob(store);

  // Registered after the pool, so it stops first (hooks run in reverse): the job in
  // progress finishes before the pool closes.
  const worker = new ReportJobWorker(
    new RunReportJobs(store, salesReport, clock, {leaseMs, maxAttempts}),
    log,
    pollMs,
  );
  worker.start();
  onStop.push(() => worker.stop());

  // The bus may be down at start: the subscription is declared once it connects, and
  // order events wait in the durable queue meanwhile. Reports keep working on the
  // sales recorded so far.
  const bus = await EventBus.connect(
    config.amqpUrl,
    config.namespace,
    log,
    false,
  );
  onStop.push(() => bus.close());
  const recordEvent = new RecordOrderEvent(store);
  await bus.subscribe({
    queue: REPORT_ORDER_EVENTS.name,
    topics: REPORT_ORDER_EVENTS.topics,
    durable: true,
    handle: createOrderEventHandler(recordEvent, log),
    handleBatch: createOrderEventBatchHandler(recordEvent, log),
  });

  const service = createReportService({
    startJob: new StartSalesReportJob(store, clock, randomUUID, () =>
      worker.nudge(),
    ),
    getJob,
    salesReport,
    exportReport: new ExportSalesReport(store, getJob),
  });
  return {bindings: [bindService(ReportService, service)]};
});
