/**
 * `npm run bench:watchers`: WATCHERS (default 2,000) concurrent watchers from distinct
 * callers on each watch stream (WatchOrderEvents, WatchStock, WatchLowStockAlerts,
 * WatchPrices) while orders are placed. It shows whether every service stays up and
 * under 200 MB RSS, whether each watcher gets every event it is entitled to and nothing
 * else, and whether the paid-order rate stays at >= 80 % of the rate without watchers.
 *
 * It starts its own system (database agora_bench_watch, namespace agorabenchwatch,
 * tracing off, auth on) and seeds 100 SKUs plus a few low-stock alert SKUs by RPC.
 * Baseline: ghz CreateOrder (admin token, customers watcher-0…, spread SKUs) for
 * BENCH_SECONDS after BENCH_FIRST_WARMUP. Then it opens the watchers at
 * WATCHERS_OPEN_RATE streams/s (one token each: customers for orders, stock and prices,
 * admins with their own subjects for alerts), waits until every stream is live, and runs
 * the same load (after BENCH_WARMUP). Every measured load, with watchers and without,
 * runs while an admin changes prices (PRICE_CHANGES_PER_S) and drives the alert SKUs
 * below their threshold and back (ALERT_ADJUSTS_PER_S): only the watchers differ. After
 * the events drained it checks each watcher against truths that do not come through the
 * stream under test (watcher_checks.ts), closes the watchers and runs the baseline again
 * (BENCH_RECHECK=0 skips it); the rate ratio is taken to the higher of the two. It
 * prints the figures, writes .agora/bench/watchers-latest.json, and exits 1 when a
 * target is missed.
 *
 * The bench process itself holds 4×WATCHERS streams on the same 2 cores as the
 * services: its CPU seconds are printed so the client's cost is visible, and so are the
 * services' CPU per paid order, which other work on the machine moves less than a rate.
 * WATCH_STREAMS=orders,prices opens only some kinds (to tell which costs what);
 * BENCH_PROFILE=1 records the services with perf during the load with watchers.
 */
import {randomUUID} from 'node:crypto';
import {mkdirSync, writeFileSync} from 'node:fs';
import {loadavg, setPriority} from 'node:os';
import {join} from 'node:path';
import {toBinary, create} from '@bufbuild/protobuf';
import {Redis} from 'ioredis';
import pg from 'pg';
import {StockAdjustmentReason} from '../../gen/agora/inventory/v1/inventory_pb.js';
import {
  InventoryService,
  WatchLowStockAlertsRequestSchema,
  WatchStockRequestSchema,
} from '../../gen/agora/inventory/v1/inventory_service_pb.js';
import {WatchOrderEventsRequestSchema} from '../../gen/agora/order/v1/order_service_pb.js';
import {
  PricingService,
  WatchPricesRequestSchema,
} from '../../gen/agora/pricing/v1/pricing_service_pb.js';
import type {ServiceName} from '../../services/common/config/service_config.js';
import {derivedId} from '../../services/common/idempotency/derived_id.js';
import {stockChangesChannel} from '../../services/common/redis/stock_keys.js';
import type {StockChangeMessage} from '../../services/inventory/src/infra/redis_stock_mirror.js';
import {startMesh, type Mesh} from '../../services/common/process/mesh.js';
import {
  checkHealth,
  localDevIssuer,
  repoRoot,
} from '../../services/common/process/service_process.js';
import {createGrpcClient} from '../../services/common/rpc/grpc_client.js';
import {
  freshEnvironment,
  REDIS_URL,
} from '../../services/common/testing/isolation.js';
import {ghzBinary, runGhz, type GhzReport} from './ghz.js';
import {perfAvailable, startPerf, summarizePerf} from './perf_profile.js';
import {cpuSeconds, rssMiB} from './proc_stats.js';
import {checkKind, type KindResult, type Truth} from './watcher_checks.js';
import {
  cancelAll,
  ChannelPool,
  openAll,
  openWatcher,
  STREAM_KINDS,
  type StreamKind,
  type Watcher,
} from './watcher_pool.js';

const env = process.env;
const WATCHERS = Number(env.WATCHERS ?? 2000);
const SECONDS = Number(env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(env.BENCH_WARMUP ?? 3);
/**
 * Warm-up before the first baseline only, longer: until then no service has run an
 * order, and V8 is still compiling the hot paths. With 12 s the first baseline still
 * came out 25–40 % below the same load run again at the end, every service (Payment
 * too, which no watcher touches) spending 1.5× the CPU per order; with 30 s, 24 % below
 * (95 vs 118 paid orders/s, 2026-12-08); with 90 s, 7–10 % (94 vs 103, 95 vs 102).
 */
const FIRST_WARMUP_SECONDS = Number(env.BENCH_FIRST_WARMUP ?? 90);
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 32);
/**
 * WATCH_STREAMS=stock,orders opens only those kinds (default: all four), to tell which
 * stream costs what; the acceptance run opens all of them.
 */
const SELECTED = new Set(
  (env.WATCH_STREAMS ?? 'orders,stock,alerts,prices').split(','),
);
/** Streams opened per second, all kinds together. */
const OPEN_RATE = Number(env.WATCHERS_OPEN_RATE ?? 400);
const STREAMS_PER_CHANNEL = Number(env.WATCHERS_PER_CHANNEL ?? 400);
/**
 * The niceness of this process while it holds the watchers. The watchers stand in for
 * clients on other machines, but here they share the 2 cores with the services: at the
 * default 10 the client takes the CPU the services and the order load leave (it still
 * has to receive every event: the checks below look at each one), so the ratio shows
 * what serving the watchers costs the services. WATCHERS_CLIENT_NICE=0 makes the
 * client compete as an equal. ghz, which places the orders, always runs at 0.
 */
const CLIENT_NICE = Number(env.WATCHERS_CLIENT_NICE ?? 10);
const PRICE_CHANGES_PER_S = Number(env.PRICE_CHANGES_PER_S ?? 10);
const ALERT_ADJUSTS_PER_S = Number(env.ALERT_ADJUSTS_PER_S ?? 4);
/** Seconds of no load with every watcher open, to see what holding the streams costs. */
const IDLE_SECONDS = Number(env.WATCHERS_IDLE_SECONDS ?? 3);
/** BENCH_PROFILE=1 records the services with Linux perf during the load with watchers. */
const PROFILE = env.BENCH_PROFILE === '1';
/** BENCH_RECHECK=0 skips the second baseline, run after the watchers closed. */
const RECHECK = env.BENCH_RECHECK !== '0';
/** Seconds to let events reach the watchers after the load and the outboxes emptied. */
const DRAIN_SECONDS = Number(env.WATCHERS_DRAIN_SECONDS ?? 5);

const DATABASE = 'agora_bench_watch';
const NAMESPACE = 'agorabenchwatch';
const SKUS = Array.from({length: 100}, (_, i) => `WATCH-S-${i}`);
const ALERT_SKUS = ['WATCH-ALERT-0', 'WATCH-ALERT-1', 'WATCH-ALERT-2'];
/** Alert SKUs hold ALERT_STOCK units; an adjustment of ALERT_SWING takes them to or below ALERT_THRESHOLD. */
const ALERT_STOCK = 20;
const ALERT_THRESHOLD = 10;
const ALERT_SWING = 15;
const RSS_LIMIT_MIB = 200;
const RATIO_TARGET = 0.8;

const outDir = join(repoRoot(), '.agora', 'bench');
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

const PATHS: Record<StreamKind, {service: ServiceName; path: string}> = {
  orders: {
    service: 'order',
    path: '/agora.order.v1.OrderService/WatchOrderEvents',
  },
  stock: {
    service: 'inventory',
    path: '/agora.inventory.v1.InventoryService/WatchStock',
  },
  alerts: {
    service: 'inventory',
    path: '/agora.inventory.v1.InventoryService/WatchLowStockAlerts',
  },
  prices: {
    service: 'pricing',
    path: '/agora.pricing.v1.PricingService/WatchPrices',
  },
};

/** Peak RSS of each service (and of this process) over a window, sampled every 250 ms. */
class RssWindow {
  readonly peak: Record<string, number> = {};
  private readonly timer: NodeJS.Timeout;

  constructor(pids: Record<string, number>) {
    const sample = () => {
      for (const [name, pid] of Object.entries(pids))
        this.peak[name] = Math.max(this.peak[name] ?? 0, rssMiB(pid));
    };
    sample();
    this.timer = setInterval(sample, 250);
  }

  stop(): Record<string, number> {
    clearInterval(this.timer);
    return Object.fromEntries(
      Object.entries(this.peak).map(([k, v]) => [k, round(v, 1)]),
    );
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** CPU seconds this process has used so far (user + system; ghz, a child, excluded). */
function ownCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function seed(mesh: Mesh, admin: string): Promise<void> {
  const opts = {authorization: () => admin};
  const inventory = createGrpcClient(
    InventoryService,
    mesh.processes.inventory.grpcAddress,
    opts,
  );
  const pricing = createGrpcClient(
    PricingService,
    mesh.processes.pricing.grpcAddress,
    opts,
  );
  const all = [...SKUS, ...ALERT_SKUS];
  let next = 0;
  await Promise.all(
    Array.from({length: 8}, async () => {
      while (next < all.length) {
        const sku = all[next++];
        const alerting = ALERT_SKUS.includes(sku);
        await inventory.adjustStock({
          requestId: derivedId('bench-watch-seed', sku),
          sku,
          delta: alerting ? ALERT_STOCK : 1_000_000,
          reason: StockAdjustmentReason.RESTOCK,
        });
        if (alerting)
          await inventory.setLowStockThreshold({
            sku,
            threshold: ALERT_THRESHOLD,
          });
        await pricing.setBasePrice({
          sku,
          price: {currencyCode: 'USD', amount: '19.99'},
        });
      }
    }),
  );
  inventory.close();
  pricing.close();
}

/** Every watcher, interleaved by kind so the services see their streams arrive evenly. */
async function makeWatchers(
  mint: (subject: string, role: 'customer' | 'admin') => Promise<string>,
): Promise<Watcher[]> {
  const watchers: Watcher[] = [];
  const make = async (
    kind: StreamKind,
    index: number,
    subject: string,
    role: 'customer' | 'admin',
    request: Uint8Array,
    sku?: string,
  ) =>
    SELECTED.has(kind) &&
    watchers.push({
      kind,
      index,
      subject,
      authorization: await mint(subject, role),
      sku,
      request,
      openedAt: 0,
      frames: [],
      cancelledByBench: false,
    });
  for (let i = 0; i < WATCHERS; i++) {
    const sku = SKUS[i % SKUS.length];
    const orders = `watcher-${i}`;
    await make(
      'orders',
      i,
      orders,
      'customer',
      toBinary(
        WatchOrderEventsRequestSchema,
        create(WatchOrderEventsRequestSchema, {customerId: orders}),
      ),
    );
    await make(
      'stock',
      i,
      `stock-watcher-${i}`,
      'customer',
      toBinary(
        WatchStockRequestSchema,
        create(WatchStockRequestSchema, {skus: [sku]}),
      ),
      sku,
    );
    await make(
      'alerts',
      i,
      `alert-admin-${i}`,
      'admin',
      toBinary(
        WatchLowStockAlertsRequestSchema,
        create(WatchLowStockAlertsRequestSchema, {}),
      ),
    );
    await make(
      'prices',
      i,
      `price-watcher-${i}`,
      'customer',
      toBinary(
        WatchPricesRequestSchema,
        create(WatchPricesRequestSchema, {skus: [sku]}),
      ),
      sku,
    );
  }
  return watchers;
}

/** Waits until `done()` holds (true) or `ms` passed (false). */
async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** Waits until no service has an event left in its outbox, then a second for RabbitMQ. */
async function outboxesDrained(db: pg.Pool, ms = 60_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const {rows} = await db.query<{n: string}>(
      `select (select count(*) from ordering.outbox) + (select count(*) from inventory.outbox)
            + (select count(*) from pricing.outbox) as n`,
    );
    if (Number(rows[0].n) === 0) break;
    if (Date.now() > deadline) return false;
    await sleep(200);
  }
  await sleep(1000);
  return true;
}

/** A loop of admin calls at `perSecond` until `stop()`; counts calls and failures. */
function pacedLoop(
  perSecond: number,
  step: (n: number) => Promise<void>,
): {stop(): Promise<{calls: number; failures: string[]}>} {
  let stopped = false;
  let calls = 0;
  const failures: string[] = [];
  const running = (async () => {
    const start = Date.now();
    while (!stopped) {
      try {
        await step(calls);
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
      calls++;
      const due = start + (calls * 1000) / perSecond;
      await sleep(Math.max(0, due - Date.now()));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await running;
      return {calls, failures};
    },
  };
}

interface LoadResult {
  paidOrders: number;
  paidPerSecond: number;
  calls: number;
  statusCodes: Record<string, number>;
  serviceCpuSeconds: Record<string, number>;
  /** Every service's CPU over paid orders. */
  serviceCpuMsPerPaidOrder: number;
  benchCpuSeconds: number;
  /**
   * The machine's 1-minute load average before and after the measured run: other work
   * on the 2 cores (a test run, a compiler) moves every rate here.
   */
  loadAverage: [number, number];
  /** Seconds each service spent collecting garbage during the measured run (/metrics). */
  gcSeconds: Record<string, number>;
  /** Each service's V8 heap in use right after the measured run. */
  heapUsedMiB: Record<string, number>;
}

/** Garbage-collection seconds so far and heap in use, from a service's /metrics. */
interface HeapStats {
  gcSeconds: number;
  heapUsedMiB: number;
}

async function heapStats(
  httpAddress: string,
  admin: string,
): Promise<HeapStats> {
  const res = await fetch(`http://${httpAddress}/metrics`, {
    headers: {authorization: admin},
  });
  const text = await res.text();
  let gcSeconds = 0;
  let heapUsed = 0;
  for (const l of text.split('\n')) {
    if (l.startsWith('agora_nodejs_gc_duration_seconds_sum'))
      gcSeconds += Number(l.split(' ').pop());
    else if (/^agora_nodejs_heap_size_used_bytes[{ ]/.test(l))
      heapUsed = Number(l.split(' ').pop());
  }
  return {gcSeconds, heapUsedMiB: heapUsed / 2 ** 20};
}

/** Every service's heap stats at once. */
async function allHeapStats(
  mesh: Mesh,
  admin: string,
): Promise<Record<string, HeapStats>> {
  const entries = await Promise.all(
    Object.values(mesh.processes).map(
      async p => [p.name, await heapStats(p.httpAddress, admin)] as const,
    ),
  );
  return Object.fromEntries(entries);
}

/** CPU seconds each service spends while `work` runs, and this process's own. */
async function cpuDuring<T>(
  pids: Record<string, number>,
  work: () => Promise<T>,
): Promise<{result: T; services: Record<string, number>; bench: number}> {
  const accounted = Object.entries(pids).map(([name, pid]) => ({
    name,
    pids: [pid],
  }));
  const before = cpuSeconds(accounted);
  const benchBefore = ownCpu();
  const result = await work();
  const after = cpuSeconds(accounted);
  return {
    result,
    services: Object.fromEntries(
      Object.keys(after).map(k => [k, round(after[k] - (before[k] ?? 0), 2)]),
    ),
    bench: round(ownCpu() - benchBefore, 2),
  };
}

/** Warm-up, then the measured ghz run; paid orders counted in PostgreSQL. */
async function load(
  mesh: Mesh,
  admin: string,
  db: pg.Pool,
  pids: Record<string, number>,
  /** Services to record with perf during the measured run, and where. */
  profile?: Record<string, {pid: number; file: string}>,
  warmupSeconds = WARMUP_SECONDS,
): Promise<LoadResult> {
  const options = {
    target: mesh.processes.order.grpcAddress,
    call: 'agora.order.v1.OrderService/CreateOrder',
    data:
      `{"request_id":"{{newUUID}}","customer_id":"watcher-{{randomInt 0 ${WATCHERS}}}","currency_code":"USD",` +
      `"lines":[{"sku":"WATCH-S-{{randomInt 0 ${SKUS.length}}}","quantity":1}],"payment_token":"tok_visa"}`,
    concurrency: CONCURRENCY,
    metadata: {authorization: admin},
    niceness: 0,
  };
  if (warmupSeconds > 0)
    await runGhz({...options, duration: `${warmupSeconds}s`});
  const paid = async () =>
    Number(
      (
        await db.query<{n: string}>(
          "select count(*) as n from ordering.customer_order where state = 'paid'",
        )
      ).rows[0].n,
    );
  const before = await paid();
  const heapBefore = await allHeapStats(mesh, admin);
  const loadBefore = round(loadavg()[0], 2);
  const recorders = Object.values(profile ?? {}).map(p =>
    startPerf(p.pid, p.file),
  );
  const measured = await cpuDuring(pids, () =>
    runGhz({...options, duration: `${SECONDS}s`}),
  );
  await Promise.all(recorders.map(r => r.stop()));
  const report: GhzReport = measured.result;
  const heapAfter = await allHeapStats(mesh, admin);
  const paidOrders = (await paid()) - before;
  const serviceCpu = Object.values(measured.services).reduce(
    (a, b) => a + b,
    0,
  );
  return {
    paidOrders,
    paidPerSecond: round(paidOrders / (report.total / 1e9), 1),
    calls: report.count,
    statusCodes: report.statusCodeDistribution,
    serviceCpuSeconds: measured.services,
    serviceCpuMsPerPaidOrder: round(
      (serviceCpu * 1000) / Math.max(paidOrders, 1),
      1,
    ),
    benchCpuSeconds: measured.bench,
    loadAverage: [loadBefore, round(loadavg()[0], 2)],
    gcSeconds: Object.fromEntries(
      Object.entries(heapAfter).map(([k, h]) => [
        k,
        round(h.gcSeconds - (heapBefore[k]?.gcSeconds ?? 0), 2),
      ]),
    ),
    heapUsedMiB: Object.fromEntries(
      Object.entries(heapAfter).map(([k, h]) => [k, round(h.heapUsedMiB, 1)]),
    ),
  };
}

/** The truths of watcher_checks.ts, from PostgreSQL and the bench's Redis log. */
async function loadTruth(
  db: pg.Pool,
  stock: Map<string, number[]>,
): Promise<Truth> {
  const orders: Truth['orders'] = new Map();
  const o = await db.query<{
    id: string;
    customer_id: string;
    paid: boolean;
    created_at: Date;
  }>(
    `select order_id::text as id, customer_id, state = 'paid' as paid, created_at
       from ordering.customer_order where state in ('paid', 'failed')`,
  );
  for (const r of o.rows) {
    const list = orders.get(r.customer_id) ?? [];
    list.push({orderId: r.id, paid: r.paid, createdAt: r.created_at.getTime()});
    orders.set(r.customer_id, list);
  }
  const p = await db.query<{sku: string; amount: string; changed_at: Date}>(
    "select sku, new_amount::text as amount, changed_at from pricing.price_change where currency_code = 'USD'",
  );
  const a = await db.query<{
    id: string;
    raised_at: Date;
    cleared_at: Date | null;
  }>(
    'select alert_id::text as id, raised_at, cleared_at from inventory.low_stock_alert',
  );
  return {
    orders,
    stock,
    prices: p.rows.map(r => ({
      sku: r.sku,
      amount: r.amount,
      changedAt: r.changed_at.getTime(),
    })),
    alerts: a.rows.map(r => ({
      alertId: r.id,
      raisedAt: r.raised_at.getTime(),
      clearedAt: r.cleared_at ? r.cleared_at.getTime() : undefined,
    })),
  };
}

/** Everything a run found: printed, and written to .agora/bench/watchers-latest.json. */
interface WatchersReport {
  when: string;
  watchersPerStream: number;
  streamKinds: string[];
  streams: number;
  seconds: number;
  warmupSeconds: number;
  firstWarmupSeconds: number;
  concurrency: number;
  openRate: number;
  streamsPerChannel: number;
  /** This process's niceness while it held the watchers (ghz at 0). */
  clientNice: number;
  verdicts: Record<'ratio' | 'rss' | 'health' | 'streams' | 'sources', boolean>;
  ok: boolean;
  baseline: LoadResult;
  withWatchers: LoadResult;
  recheck?: LoadResult;
  /** Which baseline the ratios use: the first (before) or the one after the watchers closed. */
  reference: 'before' | 'after';
  ratio: number;
  ratioToFirstBaseline: number;
  /** Services' CPU per paid order without watchers over with: the rate ratio on CPU-bound cores. */
  cpuImpliedRatio: number;
  sourcesCpuPerSecond: number;
  peakRssMiB: {
    baseline: Record<string, number>;
    withWatchers: Record<string, number>;
  };
  health: Record<string, boolean>;
  opening: {
    seconds: number;
    benchCpuSeconds: number;
    stockSnapshotsArrived: boolean;
    priceAndAlertProbesArrived: boolean;
    openAfterOpening: number;
    connections: Record<string, number>;
  };
  openAtTheEnd: number;
  outboxesDrained: boolean;
  sourcesOnly: {seconds: number; serviceCpuSeconds: Record<string, number>};
  idleWithWatchers: {
    seconds: number;
    serviceCpuSeconds: Record<string, number>;
  };
  minting: {seconds: number; benchCpuSeconds: number};
  benchCpuSeconds: Record<string, number>;
  priceLoop: {calls: number; failures: string[]};
  alertLoop: {
    calls: number;
    failures: string[];
    transitions: {raised: number; cleared: number};
    alertRowsInLoad: {raised: number; cleared: number};
  };
  checks: Record<StreamKind, KindResult>;
}

function print(r: WatchersReport): void {
  const {baseline, withWatchers, recheck, checks} = r;
  const mark = (pass: boolean) => (pass ? 'ok  ' : 'FAIL');
  const line = (label: string, rest: string) =>
    console.log(`  ${label.padEnd(24)}${rest}`);
  const json = (v: unknown) => JSON.stringify(v);
  console.log(
    `\nbench:watchers results: ${r.watchersPerStream} watchers per stream, ${r.streams} streams, each its own caller\n`,
  );
  const without = recheck
    ? `${baseline.paidPerSecond} before, ${recheck.paidPerSecond} after`
    : `${baseline.paidPerSecond}`;
  line(
    `${mark(r.verdicts.ratio)} paid orders/s`,
    `without watchers ${without}; with ${withWatchers.paidPerSecond}: ratio ${r.ratio.toFixed(2)} ` +
      `to the higher baseline (target >= ${RATIO_TARGET})` +
      (recheck ? `; ${r.ratioToFirstBaseline.toFixed(2)} to the first` : ''),
  );
  line(
    '     CPU-implied ratio',
    `${r.cpuImpliedRatio.toFixed(2)} (services' CPU per paid order, that baseline / with watchers: the rate ratio on CPU-bound cores)`,
  );
  line(
    '',
    `every measured load runs the price and alert loops (${r.sourcesCpuPerSecond.toFixed(2)} CPU s/s, measured alone); only the watchers differ`,
  );
  line(
    '     load average',
    `1-min, before/after each measured run: without ${baseline.loadAverage.join('/')}, ` +
      `with ${withWatchers.loadAverage.join('/')}${recheck ? `, after ${recheck.loadAverage.join('/')}` : ''}` +
      ' (2 cores; this bench alone keeps it near 3–5: a run far above the others met other work)',
  );
  line(
    '     ghz codes',
    `without ${json(baseline.statusCodes)}, with ${json(withWatchers.statusCodes)}`,
  );
  line(
    `${mark(r.verdicts.rss)} peak RSS MiB`,
    `without watchers ${json(r.peakRssMiB.baseline)}`,
  );
  line(
    '',
    `with watchers    ${json(r.peakRssMiB.withWatchers)} (target < ${RSS_LIMIT_MIB} per service; bench = this client)`,
  );
  line(`${mark(r.verdicts.health)} health at the end`, json(r.health));
  line(
    '     opening',
    `${r.opening.openAfterOpening}/${r.streams} open after ${r.opening.seconds} s at ${r.openRate}/s; ` +
      `connections ${json(r.opening.connections)}; ${r.openAtTheEnd} open at the end; outboxes drained ${r.outboxesDrained}`,
  );
  line(
    '     watcher client',
    `this process held the watchers at nice ${r.clientNice} (standing in for clients on other machines; ` +
      'WATCHERS_CLIENT_NICE=0 to compete as an equal); ghz at 0',
  );
  const {priceLoop, alertLoop} = r;
  line(
    `${mark(r.verdicts.sources)} event sources`,
    `${priceLoop.calls} price changes (${priceLoop.failures.length} failed), ${alertLoop.calls} alert adjustments ` +
      `(${alertLoop.failures.length} failed); alerts raised/cleared: AdjustStock saw ` +
      `${alertLoop.transitions.raised}/${alertLoop.transitions.cleared}, ` +
      `low_stock_alert rows ${alertLoop.alertRowsInLoad.raised}/${alertLoop.alertRowsInLoad.cleared}`,
  );
  console.log(
    '\n  stream    watchers  delivered   expected  missing(w/ev)  extra(w/ev)  dups  out-of-order  ended early  errors',
  );
  for (const kind of STREAM_KINDS) {
    const c = checks[kind];
    console.log(
      `  ${mark(c.watchersMissing + c.watchersExtra + c.endedEarly === 0)} ${kind.padEnd(7)}` +
        `${String(c.watchers).padStart(6)}${String(c.delivered).padStart(11)}${String(c.expected).padStart(11)}` +
        `${`${c.watchersMissing}/${c.missingEvents}`.padStart(15)}${`${c.watchersExtra}/${c.extraEvents}`.padStart(13)}` +
        `${String(c.duplicates).padStart(6)}${String(c.outOfOrder).padStart(14)}${String(c.endedEarly).padStart(13)}` +
        `  ${json(c.errorsByCode)}`,
    );
  }
  for (const kind of STREAM_KINDS)
    for (const e of checks[kind].examples) console.log(`    ${kind}: ${e}`);
  console.log('');
  line(
    '     CPU s, bench',
    `${json(r.benchCpuSeconds)} (this process only; ghz excluded)`,
  );
  line(
    '     CPU s, services',
    `during the measured load: without ${json(baseline.serviceCpuSeconds)}, ` +
      `with ${json(withWatchers.serviceCpuSeconds)}`,
  );
  line(
    '',
    `per paid order (all services): without ${baseline.serviceCpuMsPerPaidOrder} ms, ` +
      `with ${withWatchers.serviceCpuMsPerPaidOrder} ms` +
      (recheck ? `, after without ${recheck.serviceCpuMsPerPaidOrder} ms` : ''),
  );
  line(
    '     GC s, services',
    `during the measured load: without ${json(baseline.gcSeconds)}, with ${json(withWatchers.gcSeconds)}`,
  );
  line(
    '     heap MiB',
    `V8 heap in use after it: without ${json(baseline.heapUsedMiB)}, with ${json(withWatchers.heapUsedMiB)} ` +
      '(old space capped at 128 MiB; Report 512)',
  );
  line(
    '',
    `holding ${r.streams} streams with no load: ${json(r.idleWithWatchers.serviceCpuSeconds)} in ${r.idleWithWatchers.seconds} s`,
  );
  for (const f of [...priceLoop.failures, ...alertLoop.failures].slice(0, 5))
    console.log(`    loop failure: ${f}`);
}

async function main(): Promise<void> {
  ghzBinary(); // fails fast, naming `npm run tools`, when ghz is not built
  if (PROFILE && !perfAvailable())
    throw new Error(
      'BENCH_PROFILE=1 needs Linux perf (Debian: apt-get install linux-perf) and perf_event access',
    );
  mkdirSync(outDir, {recursive: true});
  const cpuAtStart = ownCpu();
  const isolated = await freshEnvironment(DATABASE, NAMESPACE);
  const issuer = await localDevIssuer();
  console.log(
    `bench:watchers: starting the system (tracing off, auth on); ${WATCHERS} watchers per stream, ` +
      `${SECONDS}s per load after ${WARMUP_SECONDS}s of warm-up, ${CONCURRENCY} orders in flight; ` +
      `streams: ${[...SELECTED].join(', ')}`,
  );
  const mesh = await startMesh({
    env: {
      ...isolated.env,
      ...issuer.env,
      AGORA_AUTH: 'on',
      AGORA_TRACING: 'off',
      AGORA_LOG_LEVEL: 'warn',
      // Names for JIT-compiled frames in perf's samples (/tmp/perf-<pid>.map).
      ...(PROFILE ? {NODE_OPTIONS: '--perf-basic-prof'} : {}),
    },
    anyPorts: true,
    logDir: join(outDir, 'logs', DATABASE),
  });
  const db = new pg.Pool({connectionString: isolated.databaseUrl, max: 2});
  // An idle connection that PostgreSQL ends (another run dropping databases with force)
  // is replaced on the next query; unhandled, the pool's error would end the bench
  // and leave the services running.
  db.on('error', err =>
    console.warn(
      `bench:watchers: idle PostgreSQL connection lost: ${err.message}`,
    ),
  );
  const redis = new Redis(REDIS_URL, {lazyConnect: true});
  const watchers: Watcher[] = [];
  const pools: ChannelPool[] = [];
  try {
    const servicePids = Object.fromEntries(
      Object.values(mesh.processes).map(p => [p.name, p.child.pid!]),
    );
    const rssPids = {...servicePids, bench: process.pid};
    const admin = await issuer.bearer({
      subject: 'bench-watch',
      roles: ['admin'],
    });

    // Truth for stock: every change Inventory publishes, heard from before any watcher.
    const published = new Map<string, number[]>();
    await redis.connect();
    redis.on('message', (_channel: string, message: string) => {
      const m = JSON.parse(message) as StockChangeMessage;
      const list = published.get(m.sku) ?? [];
      list.push(m.version);
      published.set(m.sku, list);
    });
    await redis.subscribe(stockChangesChannel(NAMESPACE));

    console.log(
      `bench:watchers: seeding ${SKUS.length} SKUs and ${ALERT_SKUS.length} alert SKUs by RPC…`,
    );
    await seed(mesh, admin);
    let cpuMark = ownCpu();
    const mintStart = Date.now();
    watchers.push(
      ...(await makeWatchers((subject, role) =>
        issuer.bearer({subject, roles: [role]}),
      )),
    );
    const minting = {
      seconds: round((Date.now() - mintStart) / 1000, 1),
      benchCpuSeconds: round(ownCpu() - cpuMark, 2),
    };
    console.log(
      `bench:watchers: minted ${watchers.length} tokens in ${minting.seconds} s`,
    );

    const inventory = createGrpcClient(
      InventoryService,
      mesh.processes.inventory.grpcAddress,
      {authorization: () => admin},
    );
    const pricing = createGrpcClient(
      PricingService,
      mesh.processes.pricing.grpcAddress,
      {authorization: () => admin},
    );
    const low = new Map<string, boolean>(ALERT_SKUS.map(s => [s, false]));
    const transitions = {raised: 0, cleared: 0};
    const swing = async (sku: string) => {
      const down = !low.get(sku);
      const r = await inventory.adjustStock({
        requestId: randomUUID(),
        sku,
        delta: down ? -ALERT_SWING : ALERT_SWING,
        reason: down
          ? StockAdjustmentReason.DAMAGE
          : StockAdjustmentReason.RESTOCK,
      });
      const now = r.level?.lowStock ?? false;
      if (now && !low.get(sku)) transitions.raised++;
      if (!now && low.get(sku)) transitions.cleared++;
      low.set(sku, now);
    };
    let priceVisits = 0;
    /** One SetBasePrice: SKUs in turn, each visit to a price it does not have. */
    const changePrice = async () => {
      const n = priceVisits++;
      const lap = Math.floor(n / SKUS.length);
      await pricing.setBasePrice({
        sku: SKUS[n % SKUS.length],
        price: {currencyCode: 'USD', amount: lap % 2 === 0 ? '21.99' : '22.99'},
      });
    };
    /** The price and alert loops; stop() leaves every alert SKU above its threshold. */
    const startSources = () => {
      const prices = pacedLoop(PRICE_CHANGES_PER_S, changePrice);
      const alerts = pacedLoop(ALERT_ADJUSTS_PER_S, n =>
        swing(ALERT_SKUS[Math.floor(n / 2) % ALERT_SKUS.length]),
      );
      return {
        stop: async () => {
          const priceLoop = await prices.stop();
          const alertLoop = await alerts.stop();
          for (const sku of ALERT_SKUS) if (low.get(sku)) await swing(sku);
          return {priceLoop, alertLoop};
        },
      };
    };

    // Every measured load runs the price and alert loops, so the one thing that differs
    // between the runs with and without watchers is the watchers.
    console.log('bench:watchers: baseline, no watchers…');
    let rss = new RssWindow(rssPids);
    const baselineSources = startSources();
    const baseline = await load(
      mesh,
      admin,
      db,
      servicePids,
      undefined,
      FIRST_WARMUP_SECONDS,
    );
    await baselineSources.stop();
    const baselineRss = rss.stop();
    console.log(
      `  ${baseline.paidPerSecond} paid orders/s, codes ${JSON.stringify(baseline.statusCodes)}`,
    );
    // What the price and alert loops cost by themselves (no orders, no watchers).
    const running = startSources();
    const sourcesOnly = await cpuDuring(servicePids, () =>
      sleep(IDLE_SECONDS * 1000),
    );
    await running.stop();
    transitions.raised = transitions.cleared = 0;
    console.log(
      `  event sources alone (no orders, no watchers), ${IDLE_SECONDS} s: services' CPU s ${JSON.stringify(sourcesOnly.services)}`,
    );
    // Events of the baseline's orders must not reach a watcher that opens later.
    await outboxesDrained(db);

    console.log(
      `bench:watchers: opening ${watchers.length} streams at ${OPEN_RATE}/s, ${STREAMS_PER_CHANNEL} per connection…`,
    );
    rss = new RssWindow(rssPids);
    cpuMark = ownCpu();
    const openStart = Date.now();
    const poolOf = new Map<StreamKind, ChannelPool>();
    for (const kind of STREAM_KINDS) {
      const pool = new ChannelPool(
        mesh.processes[PATHS[kind].service].grpcAddress,
        STREAMS_PER_CHANNEL,
      );
      pools.push(pool);
      poolOf.set(kind, pool);
    }
    setPriority(CLIENT_NICE);
    await openAll(watchers, OPEN_RATE, w =>
      openWatcher(w, poolOf.get(w.kind)!.next(), PATHS[w.kind].path),
    );
    const open = (w: Watcher) => !w.end;
    const snapshots = await until(
      () =>
        watchers.every(w => w.kind !== 'stock' || w.frames.length > 0 || w.end),
      60_000,
    );
    // No event exists for order, price and alert watchers to show they are live; the
    // probes below give one to prices and alerts, orders get a pause to subscribe.
    await sleep(2000);
    for (const sku of SKUS)
      await pricing.setBasePrice({
        sku,
        price: {currencyCode: 'USD', amount: '20.99'},
      });
    await swing(ALERT_SKUS[0]);
    await swing(ALERT_SKUS[0]);
    const probes = await until(
      () =>
        watchers.every(
          w =>
            !open(w) ||
            (w.kind === 'prices' && w.frames.length >= 1) ||
            (w.kind === 'alerts' && w.frames.length >= 2) ||
            w.kind === 'orders' ||
            w.kind === 'stock',
        ),
      60_000,
    );
    const opening = {
      seconds: round((Date.now() - openStart) / 1000, 1),
      benchCpuSeconds: round(ownCpu() - cpuMark, 2),
      stockSnapshotsArrived: snapshots,
      priceAndAlertProbesArrived: probes,
      openAfterOpening: watchers.filter(open).length,
      connections: Object.fromEntries(
        [...poolOf].map(([kind, pool]) => [kind, pool.size]),
      ),
    };
    console.log(
      `  ${opening.openAfterOpening}/${watchers.length} open after ${opening.seconds} s` +
        ` (snapshots ${snapshots ? 'all in' : 'MISSING'}, probes ${probes ? 'all in' : 'MISSING'})`,
    );

    const idle = await cpuDuring(servicePids, () => sleep(IDLE_SECONDS * 1000));
    console.log(
      `  holding them, no load, ${IDLE_SECONDS} s: services' CPU s ${JSON.stringify(idle.services)}`,
    );

    console.log(
      `bench:watchers: the same load with every watcher open, ${PRICE_CHANGES_PER_S} price changes/s, ` +
        `${ALERT_ADJUSTS_PER_S} alert-SKU adjustments/s…`,
    );
    const sources = startSources();
    const profileDir = join(outDir, 'profiles-watchers');
    const profile = PROFILE
      ? Object.fromEntries(
          Object.entries(servicePids).map(([name, pid]) => [
            name,
            {pid, file: join(profileDir, `${name}.perf.data`)},
          ]),
        )
      : undefined;
    if (PROFILE) mkdirSync(profileDir, {recursive: true});
    const withWatchers = await load(mesh, admin, db, servicePids, profile);
    const {priceLoop, alertLoop} = await sources.stop();
    console.log(
      `  ${withWatchers.paidPerSecond} paid orders/s, codes ${JSON.stringify(withWatchers.statusCodes)}; ` +
        `${priceLoop.calls} price changes, ${alertLoop.calls} alert adjustments`,
    );

    cpuMark = ownCpu();
    const drained = await outboxesDrained(db);
    await sleep(DRAIN_SECONDS * 1000);
    const drainCpu = round(ownCpu() - cpuMark, 2);
    const health: Record<string, boolean> = {};
    for (const p of Object.values(mesh.processes))
      health[p.name] = await checkHealth(p.grpcAddress);
    const watchersRss = rss.stop();
    const stillOpen = watchers.filter(open).length;
    cancelAll(watchers);
    setPriority(0);
    inventory.close();
    pricing.close();
    await redis.quit();

    const truth = await loadTruth(db, published);
    const alertRowsInLoad = {
      raised: truth.alerts.filter(a => a.raisedAt > openStart).length,
      cleared: truth.alerts.filter(
        a => a.clearedAt !== undefined && a.clearedAt > openStart,
      ).length,
    };
    const checks = Object.fromEntries(
      STREAM_KINDS.map(kind => [kind, checkKind(kind, watchers, truth)]),
    ) as Record<StreamKind, KindResult>;

    // The same load again with the watchers gone, on services as warm as they were with
    // watchers: the first baseline can be the less warm one.
    let recheck: LoadResult | undefined;
    if (RECHECK) {
      console.log('bench:watchers: baseline again, watchers closed…');
      await sleep(1000);
      const recheckSources = startSources();
      recheck = await load(mesh, admin, db, servicePids);
      await recheckSources.stop();
      console.log(`  ${recheck.paidPerSecond} paid orders/s`);
    }

    // The rate without watchers is the better of the two baselines: the first may still
    // be warming up, the second may meet other work on the machine; judging against
    // the higher one never flatters the watchers.
    const reference =
      recheck && recheck.paidPerSecond > baseline.paidPerSecond
        ? recheck
        : baseline;
    const ratio = withWatchers.paidPerSecond / reference.paidPerSecond;
    const services = Object.keys(servicePids);
    const rssOk = services.every(
      s =>
        (baselineRss[s] ?? 0) < RSS_LIMIT_MIB &&
        (watchersRss[s] ?? 0) < RSS_LIMIT_MIB,
    );
    const healthOk = Object.values(health).every(Boolean);
    const streamsOk = STREAM_KINDS.every(
      k =>
        checks[k].watchersMissing === 0 &&
        checks[k].watchersExtra === 0 &&
        checks[k].endedEarly === 0,
    );
    const loopsOk =
      priceLoop.failures.length === 0 &&
      alertLoop.failures.length === 0 &&
      alertRowsInLoad.raised === transitions.raised &&
      alertRowsInLoad.cleared === transitions.cleared;
    const ok =
      ratio >= RATIO_TARGET && rssOk && healthOk && streamsOk && loopsOk;
    const benchCpu = {
      minting: minting.benchCpuSeconds,
      baselineLoad: baseline.benchCpuSeconds,
      opening: opening.benchCpuSeconds,
      loadWithWatchers: withWatchers.benchCpuSeconds,
      drain: drainCpu,
      total: round(ownCpu() - cpuAtStart, 2),
    };

    const sourcesCpuPerS =
      Object.values(sourcesOnly.services).reduce((x, y) => x + y, 0) /
      IDLE_SECONDS;
    const report: WatchersReport = {
      when: new Date().toISOString(),
      watchersPerStream: WATCHERS,
      streamKinds: [...SELECTED],
      streams: watchers.length,
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      firstWarmupSeconds: FIRST_WARMUP_SECONDS,
      concurrency: CONCURRENCY,
      openRate: OPEN_RATE,
      streamsPerChannel: STREAMS_PER_CHANNEL,
      clientNice: CLIENT_NICE,
      verdicts: {
        ratio: ratio >= RATIO_TARGET,
        rss: rssOk,
        health: healthOk,
        streams: streamsOk,
        sources: loopsOk,
      },
      ok,
      baseline,
      withWatchers,
      recheck,
      reference: reference === baseline ? 'before' : 'after',
      ratio: round(ratio, 3),
      ratioToFirstBaseline: round(
        withWatchers.paidPerSecond / baseline.paidPerSecond,
        3,
      ),
      cpuImpliedRatio: round(
        reference.serviceCpuMsPerPaidOrder /
          withWatchers.serviceCpuMsPerPaidOrder,
        3,
      ),
      sourcesCpuPerSecond: round(sourcesCpuPerS, 3),
      peakRssMiB: {baseline: baselineRss, withWatchers: watchersRss},
      health,
      opening,
      openAtTheEnd: stillOpen,
      outboxesDrained: drained,
      sourcesOnly: {
        seconds: IDLE_SECONDS,
        serviceCpuSeconds: sourcesOnly.services,
      },
      idleWithWatchers: {
        seconds: IDLE_SECONDS,
        serviceCpuSeconds: idle.services,
      },
      minting,
      benchCpuSeconds: benchCpu,
      priceLoop: {calls: priceLoop.calls, failures: priceLoop.failures},
      alertLoop: {
        calls: alertLoop.calls,
        failures: alertLoop.failures,
        transitions,
        alertRowsInLoad,
      },
      checks,
    };
    print(report);
    if (profile) {
      console.log(
        `\nperf profile of the load with watchers (files in ${profileDir}):\n`,
      );
      console.log(
        summarizePerf(
          Object.fromEntries(
            Object.entries(profile).map(([name, p]) => [name, p.file]),
          ),
        ),
      );
    }
    const body = JSON.stringify(report, null, 2);
    const file = join(outDir, 'watchers-latest.json');
    writeFileSync(file, body);
    console.log(
      `\nbench:watchers: ${ok ? 'every target met' : 'SOME TARGETS MISSED'}; wrote ${file}`,
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    cancelAll(watchers);
    for (const p of pools) p.close();
    redis.disconnect();
    await db.end();
    await mesh.stop();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  err => {
    console.error(
      `bench:watchers: ${err instanceof Error ? err.stack : String(err)}`,
    );
    process.exit(1);
  },
);
