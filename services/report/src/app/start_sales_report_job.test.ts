import {
  IdempotencyConflictError,
  InvalidArgumentError,
} from '../../../common/errors/domain_error.js';
import {InMemoryReportStore} from '../../test/in_memory_report_store.js';
import {TestClock, uuid} from '../../test/fixtures.js';
import {StartSalesReportJob} from './start_sales_report_job.js';

describe('StartSalesReportJob.execute()', () => {
  let store: InMemoryReportStore;
  let wakes: number;
  let start: StartSalesReportJob;
  let ids: number;

  beforeEach(() => {
    store = new InMemoryReportStore();
    wakes = 0;
    ids = 100;
    start = new StartSalesReportJob(
      store,
      new TestClock(),
      () => uuid(++ids),
      () => wakes++,
    );
  });

  const november = {
    requestId: uuid(1),
    startDate: '2026-11-01',
    endDate: '2026-11-30',
    groupBy: 'day' as const,
  };

  it('stores a PENDING job and wakes the worker', async () => {
    const job = await start.execute(november);
    expect(job.state).toBe('pending');
    expect(job.spec).toEqual({
      period: {startDate: '2026-11-01', endDate: '2026-11-30'},
      groupBy: 'day',
    });
    expect((await store.findJob(job.id))?.requestId).toBe(uuid(1));
    expect(wakes).toBe(1);
  });

  it('returns the first job, in its current state, when the same request is retried', async () => {
    const first = await start.execute(november);
    await store.claimJob(new Date(), 60_000); // the worker has started it meanwhile
    const retry = await start.execute(november);
    expect(retry.id).toBe(first.id);
    expect(retry.state).toBe('running');
    expect(wakes).toBe(1);
  });

  it('rejects a reused request_id when the period or grouping differs', async () => {
    await start.execute(november);
    await expect(
      start.execute({...november, groupBy: 'product'}),
    ).rejects.toThrow(IdempotencyConflictError);
    await expect(
      start.execute({...november, endDate: '2026-11-29'}),
    ).rejects.toThrow(IdempotencyConflictError);
  });

  it('rejects a period that is not real calendar dates and stores nothing', async () => {
    await expect(
      start.execute({...november, endDate: '2026-02-30'}),
    ).rejects.toThrow('end_date: "2026-02-30" is not a calendar date');
    expect(await store.findJobByRequestId(uuid(1))).toBeUndefined();
    expect(wakes).toBe(0);
  });

  it('rejects a request_id when it is not a UUID', async () => {
    await expect(
      start.execute({...november, requestId: 'report-1'}),
    ).rejects.toThrow(InvalidArgumentError);
  });
});
