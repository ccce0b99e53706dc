/**
 * `npm run bench`: load tests with ghz against the real system on this machine, each
 * figure printed next to a limit measured in the same run.
 *
 * It starts its own system (database agora_bench, namespace agorabench, tracing off),
 * seeds its SKUs by RPC, and runs the scenarios: CreateOrder on 1,000 spread SKUs,
 * CreateOrder on one hot SKU, ReserveStock alone, and a read (GetPrices). For each it
 * reports calls/s, paid orders/s (counted in PostgreSQL), p50/p95/p99, counts by status
 * code, CPU per call or per paid order summed over every process on the machine that
 * served it (services, PostgreSQL, Redis, RabbitMQ, balancer; from /proc), and the
 * services' peak RSS. Limits: pgbench running a minimal one-transaction order, and ghz
 * against a trivial grpc-js server. Results go to .agora/bench/ as JSON too.
 *
 * BENCH_SECONDS (default 10) sets each scenario's length; BENCH_WARMUP (3) the seconds
 * of the same load run before each measured scenario, so the figures are of warm
 * processes (V8 is still compiling the hot paths in the first seconds: perf measured
 * 15 % of Order's CPU in its JIT compiler 5–10 s into a run, 6 % after 20 s);
 * BENCH_CONCURRENCY (64) the requests in flight; BENCH_PROFILE=1 records every service
 * with Linux perf during the first measured scenario of the direct run and prints where
 * the busiest one spent its CPU (perf_profile.ts).
 */
import {spawnSync} from 'node:child_process';
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import pg from 'pg';
import {StockAdjustmentReason} from '../../gen/agora/inventory/v1/inventory_pb.js';
import {InventoryService} from '../../gen/agora/inventory/v1/inventory_service_pb.js';
import {PricingService} from '../../gen/agora/pricing/v1/pricing_service_pb.js';
import type {ServiceName} from '../../services/common/config/service_config.js';
import {derivedId} from '../../services/common/idempotency/derived_id.js';
import {loadTls, type TlsFiles} from '../../services/common/auth/dev_ca.js';
import {startMesh} from '../../services/common/process/mesh.js';
import {
  localDevCa,
  localDevIssuer,
  repoRoot,
  startServiceProcessAt,
} from '../../services/common/process/service_process.js';
import {createGrpcClient} from '../../services/common/rpc/grpc_client.js';
import {
  ADMIN_PG,
  freshEnvironment,
} from '../../services/common/testing/isolation.js';
import {percentileMs, runGhz, type GhzReport} from './ghz.js';
import {pgbenchBaseline, type PgbenchResult} from './pgbench_baseline.js';
import {startReplicaSystem} from './replica_system.js';
import {perfAvailable, startPerf, summarizePerf} from './perf_profile.js';
import {
  cpuSeconds,
  INFRASTRUCTURE,
  rssMiB,
  type Accounted,
} from './proc_stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const SPREAD_SKUS = 1000;
const ADMIN_URL = ADMIN_PG;
const outDir = join(repoRoot(), '.agora', 'bench');
const PROFILE = process.env.BENCH_PROFILE === '1';
// BENCH_BALANCER=0 skips the pass through HAProxy.

interface Scenario {
  name: string;
  service: ServiceName;
  call: string;
  data: string;
  /** Count paid orders created during the run. */
  orders?: boolean;
  /** Sent with every call: the bearer token, when auth is on. */
  metadata?: Record<string, string>;
  /** Mutual TLS files, when the system runs it. */
  tls?: TlsFiles;
}

const order = (sku: string) =>
  '{"request_id":"{{newUUID}}","customer_id":"bench-{{.WorkerID}}","currency_code":"USD",' +
  `"lines":[{"sku":"${sku}","quantity":1}],"payment_token":"tok_visa"}`;

const SCENARIOS: Scenario[] = [
  {
    name: 'CreateOrder, spread SKUs',
    service: 'order',
    call: 'agora.order.v1.OrderService/CreateOrder',
    data: order(`BENCH-S-{{randomInt 0 ${SPREAD_SKUS}}}`),
    orders: true,
  },
  {
    name: 'CreateOrder, one hot SKU',
    service: 'order',
    call: 'agora.order.v1.OrderService/CreateOrder',
    data: order('BENCH-HOT'),
    orders: true,
  },
  {
    name: 'ReserveStock alone',
    service: 'inventory',
    call: 'agora.inventory.v1.InventoryService/ReserveStock',
    // Short leases: the sweeper gives the units back during the run.
    data: `{"reservation_id":"{{newUUID}}","order_id":"bench","lines":[{"sku":"BENCH-S-{{randomInt 0 ${SPREAD_SKUS}}}","quantity":1}],"ttl":"2s"}`,
  },
  {
    name: 'GetPrices (read)',
    service: 'pricing',
    call: 'agora.pricing.v1.PricingService/GetPrices',
    data: `{"skus":["BENCH-S-{{randomInt 0 ${SPREAD_SKUS}}}"],"currency_code":"USD"}`,
  },
];

interface ScenarioResult {
  name: string;
  target: string;
  calls: number;
  callsPerSecond: number;
  paidOrders?: number;
  paidOrdersPerSecond?: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  statusCodes: Record<string, number>;
  cpuSecondsByProcess: Record<string, number>;
  cpuMsPerCall: number;
  cpuMsPerPaidOrder?: number;
  /**
   * PostgreSQL transactions committed (every database on the server, read-only
   * statements and background pollers included) per call or per paid order.
   */
  commitsPerUnit: number;
  peakRssMiB: Record<string, number>;
}

async function seed(
  inventoryAddress: string,
  pricingAddress: string,
  admin: string,
  tls?: TlsFiles,
): Promise<void> {
  const opts = {
    authorization: () => admin,
    tls: tls && loadTls(tls),
  };
  const inventory = createGrpcClient(InventoryService, inventoryAddress, opts);
  const pricing = createGrpcClient(PricingService, pricingAddress, opts);
  const skus = [
    'BENCH-HOT',
    ...Array.from({length: SPREAD_SKUS}, (_, i) => `BENCH-S-${i}`),
  ];
  let next = 0;
  await Promise.all(
    Array.from({length: 16}, async () => {
      while (next < skus.length) {
        const sku = skus[next++];
        await inventory.adjustStock({
          requestId: derivedId('bench-seed', sku),
          sku,
          delta: sku === 'BENCH-HOT' ? 1_000_000 : 100_000,
          reason: StockAdjustmentReason.RESTOCK,
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

/** Commits so far on the whole server (every transaction of every service and relay). */
async function commits(): Promise<number> {
  const admin = new pg.Client({connectionString: ADMIN_PG});
  await admin.connect();
  try {
    const {rows} = await admin.query(
      'select sum(xact_commit)::bigint as n from pg_stat_database',
    );
    return Number(rows[0].n);
  } finally {
    await admin.end();
  }
}

/** Runs ghz while accounting CPU of `accounted` and sampling RSS of the services. */
async function measure(
  target: string,
  scenario: Scenario,
  accounted: Accounted[],
  servicePids: Record<string, number>,
  countPaid: () => Promise<number>,
  /** Records every service with perf while the scenario is measured. */
  profile?: Record<string, {pid: number; file: string}>,
): Promise<ScenarioResult> {
  if (WARMUP_SECONDS > 0) {
    await runGhz({
      target,
      call: scenario.call,
      data: scenario.data,
      concurrency: CONCURRENCY,
      duration: `${WARMUP_SECONDS}s`,
      metadata: scenario.metadata,
      tls: scenario.tls,
    });
  }
  const recorders = Object.values(profile ?? {}).map(p =>
    startPerf(p.pid, p.file),
  );
  const peak: Record<string, number> = {};
  const sampler = setInterval(() => {
    for (const [name, pid] of Object.entries(servicePids))
      peak[name] = Math.max(peak[name] ?? 0, rssMiB(pid));
  }, 250);
  const paidBefore = scenario.orders ? await countPaid() : 0;
  const commitsBefore = await commits();
  const before = cpuSeconds(accounted);
  const report: GhzReport = await runGhz({
    target,
    call: scenario.call,
    data: scenario.data,
    concurrency: CONCURRENCY,
    duration: `${SECONDS}s`,
    metadata: scenario.metadata,
    tls: scenario.tls,
  });
  const after = cpuSeconds(accounted);
  clearInterval(sampler);
  await Promise.all(recorders.map(r => r.stop()));
  const cpu: Record<string, number> = {};
  let total = 0;
  for (const k of Object.keys(after)) {
    cpu[k] = round(after[k] - (before[k] ?? 0), 2);
    total += after[k] - (before[k] ?? 0);
  }
  const wallSeconds = report.total / 1e9;
  const result: ScenarioResult = {
    name: scenario.name,
    target,
    calls: report.count,
    callsPerSecond: round(report.count / wallSeconds, 1),
    p50Ms: round(percentileMs(report, 50), 2),
    p95Ms: round(percentileMs(report, 95), 2),
    p99Ms: round(percentileMs(report, 99), 2),
    statusCodes: report.statusCodeDistribution,
    cpuSecondsByProcess: cpu,
    cpuMsPerCall: round((total * 1000) / Math.max(report.count, 1), 3),
    peakRssMiB: Object.fromEntries(
      Object.entries(peak).map(([k, v]) => [k, round(v, 1)]),
    ),
    commitsPerUnit: 0,
  };
  if (!scenario.orders) {
    result.commitsPerUnit = round(
      ((await commits()) - commitsBefore) / Math.max(report.count, 1),
      2,
    );
  }
  if (scenario.orders) {
    const paid = (await countPaid()) - paidBefore;
    result.commitsPerUnit = round(
      ((await commits()) - commitsBefore) / Math.max(paid, 1),
      2,
    );
    result.paidOrders = paid;
    result.paidOrdersPerSecond = round(paid / wallSeconds, 1);
    result.cpuMsPerPaidOrder = round((total * 1000) / Math.max(paid, 1), 3);
  }
  return result;
}

async function echoBaseline(): Promise<ScenarioResult> {
  const echo = await startServiceProcessAt(
    'echo',
    join(repoRoot(), 'dist', 'deploy', 'bench', 'echo_server.js'),
    {},
    join(outDir, 'logs', 'echo.log'),
  );
  try {
    return await measure(
      echo.grpcAddress,
      {
        name: 'trivial grpc-js server (health Check)',
        service: 'order',
        call: 'grpc.health.v1.Health/Check',
        data: '{}',
      },
      [{name: 'echo', pids: [echo.child.pid!]}],
      {echo: echo.child.pid!},
      async () => 0,
    );
  } finally {
    await echo.stop();
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0
    ? `${(a / b).toFixed(2)}×`
    : 'n/a';
}

/** Runs the scenarios (all, or BENCH_ONLY=1,2 — 1-based) against `targets`. */
async function runScenarios(
  mode: string,
  targets: Record<ServiceName, string>,
  accounted: Accounted[],
  rssPids: Record<string, number>,
  countPaid: () => Promise<number>,
  skip: number[] = [],
  /** Profiles the first scenario measured. */
  profile?: Record<string, {pid: number; file: string}>,
  metadata?: Record<string, string>,
): Promise<ScenarioResult[]> {
  const only = process.env.BENCH_ONLY?.split(',').map(Number);
  const results: ScenarioResult[] = [];
  for (const [i, scenario] of SCENARIOS.entries()) {
    if ((only && !only.includes(i + 1)) || skip.includes(i + 1)) continue;
    console.log(`bench: ${mode}: ${scenario.name}…`);
    const result = await measure(
      targets[scenario.service],
      {...scenario, metadata},
      accounted,
      rssPids,
      countPaid,
      results.length === 0 ? profile : undefined,
    );
    results.push({...result, name: `${scenario.name} (${mode})`});
  }
  return results;
}

function paidCounter(db: pg.Pool): () => Promise<number> {
  return async () =>
    Number(
      (
        await db.query(
          "select count(*) as n from ordering.customer_order where state = 'paid'",
        )
      ).rows[0].n,
    );
}

interface DirectSystem {
  targets: Record<ServiceName, string>;
  pids: Record<string, number>;
  accounted: Accounted[];
  countPaid: () => Promise<number>;
  /** ghz's metadata: an admin's bearer token when auth is on. */
  metadata: Record<string, string> | undefined;
  /** ghz's client certificate when the system runs mutual TLS. */
  tls: TlsFiles | undefined;
  stop(): Promise<void>;
}

/**
 * One process per service, called directly, seeded. Auth is on as in production: ghz
 * sends an admin's token (admins may order for any customer; the bench's 64 workers are
 * 64 customers). `auth: false` is the A/B baseline (AGORA_AUTH=off).
 */
async function startDirect(
  database: string,
  auth: boolean,
  mutualTls = false,
  /** Env of its own (the A/B's three systems share PostgreSQL's 100 connections). */
  extraEnv: Record<string, string> = {},
): Promise<DirectSystem> {
  const isolated = await freshEnvironment(database, database.replace(/_/g, ''));
  const issuer = await localDevIssuer();
  const ca = mutualTls ? localDevCa() : undefined;
  const tls = ca?.files('client');
  console.log(
    `bench: starting the system (one process per service, tracing off, auth ${auth ? 'on' : 'off'}${mutualTls ? ', mutual TLS' : ''})…`,
  );
  const mesh = await startMesh({
    env: {
      ...isolated.env,
      ...issuer.env,
      ...(ca?.env ?? {}),
      AGORA_AUTH: auth ? 'on' : 'off',
      ...extraEnv,
      AGORA_TRACING: 'off',
      AGORA_LOG_LEVEL: 'warn',
      // Names for JIT-compiled frames in perf's samples (/tmp/perf-<pid>.map).
      ...(PROFILE ? {NODE_OPTIONS: '--perf-basic-prof'} : {}),
    },
    anyPorts: true,
    logDir: join(outDir, 'logs', database),
    tls,
  });
  const db = new pg.Pool({connectionString: isolated.databaseUrl, max: 2});
  const pids = Object.fromEntries(
    Object.values(mesh.processes).map(p => [p.name, p.child.pid!]),
  );
  const admin = await issuer.bearer({subject: 'bench', roles: ['admin']});
  const addr = (name: ServiceName) => mesh.processes[name].grpcAddress;
  console.log(`bench: seeding ${SPREAD_SKUS + 1} SKUs by RPC…`);
  await seed(addr('inventory'), addr('pricing'), admin, tls);
  return {
    tls,
    targets: Object.fromEntries(
      Object.values(mesh.processes).map(p => [p.name, p.grpcAddress]),
    ) as Record<ServiceName, string>,
    pids,
    // Each service on its own line: the figure to optimize is the busiest one.
    accounted: [
      ...Object.entries(pids).map(([name, pid]) => ({name, pids: [pid]})),
      ...INFRASTRUCTURE,
    ],
    countPaid: paidCounter(db),
    metadata: auth ? {authorization: admin} : undefined,
    stop: async () => {
      await db.end();
      await mesh.stop();
    },
  };
}

/** The single-process-per-service system, called directly. */
async function direct(): Promise<{
  results: ScenarioResult[];
  profile?: Record<string, {pid: number; file: string}>;
}> {
  const system = await startDirect('agora_bench', true);
  try {
    const profile = PROFILE
      ? Object.fromEntries(
          Object.entries(system.pids).map(([name, pid]) => [
            name,
            {pid, file: join(profileDir, `${name}.perf.data`)},
          ]),
        )
      : undefined;
    const results = await runScenarios(
      'direct',
      system.targets,
      system.accounted,
      system.pids,
      system.countPaid,
      [],
      profile,
      system.metadata,
    );
    return {results, profile};
  } finally {
    await system.stop();
  }
}

/**
 * What authentication costs: CPU per paid order on spread SKUs with auth on and off,
 * two systems side by side, measured in alternation (on, off, on, off, …) so drift in
 * the machine's speed falls on both equally.
 */
async function authAB(): Promise<{
  on: number[];
  off: number[];
  mtls: number[];
}> {
  const rounds = Number(process.env.BENCH_AUTH_ROUNDS ?? 2);
  // Three systems at once: 5 connections per service each stay within PostgreSQL's 100.
  const pools = Object.fromEntries(
    ['ORDER', 'PAYMENT', 'INVENTORY', 'PRICING', 'REPORT'].map(s => [
      `AGORA_${s}_DB_POOL_SIZE`,
      '5',
    ]),
  );
  const on = await startDirect('agora_bench_auth_on', true, false, pools);
  const off = await startDirect('agora_bench_auth_off', false, false, pools);
  const mtls = await startDirect('agora_bench_mtls', true, true, pools);
  const cpu = {on: [] as number[], off: [] as number[], mtls: [] as number[]};
  try {
    for (let r = 1; r <= rounds; r++) {
      for (const [label, system] of [
        ['on', on],
        ['off', off],
        ['mtls', mtls],
      ] as const) {
        console.log(`bench: auth A/B round ${r}/${rounds}: ${label}…`);
        const result = await measure(
          system.targets.order,
          {...SCENARIOS[0], metadata: system.metadata, tls: system.tls},
          system.accounted,
          system.pids,
          system.countPaid,
        );
        console.log(
          `  ${result.paidOrders} paid orders, ${result.cpuMsPerPaidOrder} ms CPU each, codes ${JSON.stringify(result.statusCodes)}`,
        );
        cpu[label].push(result.cpuMsPerPaidOrder ?? NaN);
      }
    }
  } finally {
    await on.stop();
    await off.stop();
    await mtls.stop();
  }
  return cpu;
}

/** Two replicas of every service behind HAProxy, called through the balancer. */
async function balanced(): Promise<ScenarioResult[]> {
  const isolated = await freshEnvironment('agora_bench_lb', 'agorabenchlb');
  console.log(
    'bench: starting 2 replicas per service behind HAProxy (tracing off)…',
  );
  const system = await startReplicaSystem({
    ...isolated.env,
    AGORA_TRACING: 'off',
    AGORA_LOG_LEVEL: 'warn',
    AGORA_REPLICAS: '2',
    // Every port below 32768, the range Linux hands out to outgoing connections.
    AGORA_FRONTEND_PORT_BASE: '12050',
    AGORA_REPLICA_PORT_BASE: '22000',
    AGORA_HAPROXY_STATS_PORT: '12404',
    AGORA_STATE_DIR: join(outDir, 'replicas'),
    // 10 processes share PostgreSQL's default max_connections (100).
    ...Object.fromEntries(
      ['ORDER', 'PAYMENT', 'INVENTORY', 'PRICING', 'REPORT'].map(s => [
        `AGORA_${s}_DB_POOL_SIZE`,
        '6',
      ]),
    ),
  });
  const db = new pg.Pool({connectionString: isolated.databaseUrl, max: 2});
  const admin = await (
    await localDevIssuer()
  ).bearer({subject: 'bench', roles: ['admin']});
  try {
    await seed(system.frontends.inventory, system.frontends.pricing, admin);
    const {services, haproxy} = system.pids();
    const rssPids: Record<string, number> = {};
    for (const [name, list] of Object.entries(services)) {
      list.forEach((pid, i) => (rssPids[`${name}-${i + 1}`] = pid));
    }
    const accounted: Accounted[] = [
      ...Object.entries(services).map(([name, list]) => ({name, pids: list})),
      {name: 'haproxy', pids: haproxy},
      ...INFRASTRUCTURE.filter(g => g.name !== 'haproxy'),
    ];
    // ReserveStock alone says nothing new through the balancer.
    return await runScenarios(
      'through HAProxy',
      system.frontends,
      accounted,
      rssPids,
      paidCounter(db),
      [3],
      undefined,
      {authorization: admin},
    );
  } finally {
    await db.end();
    await system.stop();
  }
}

function print(
  results: ScenarioResult[],
  pgbench: PgbenchResult,
  echo: ScenarioResult,
): void {
  for (const r of results) {
    console.log(`${r.name}`);
    if (r.paidOrdersPerSecond !== undefined) {
      const limit = r.name.includes('hot') ? pgbench.hotTps : pgbench.spreadTps;
      console.log(
        `  paid orders/s  ${r.paidOrdersPerSecond}  (${ratio(r.paidOrdersPerSecond, limit)} pgbench's ${limit.toFixed(0)} tps; target ${r.name.includes('hot') ? 500 : 1000})`,
      );
    }
    console.log(
      `  calls/s        ${r.callsPerSecond}  (${ratio(r.callsPerSecond, echo.callsPerSecond)} the trivial server's)`,
    );
    console.log(
      `  latency ms     p50 ${r.p50Ms}  p95 ${r.p95Ms}  p99 ${r.p99Ms}  (p99 ${ratio(r.p99Ms, echo.p99Ms)} the trivial server's ${echo.p99Ms}; target p99 50)`,
    );
    console.log(`  status codes   ${JSON.stringify(r.statusCodes)}`);
    const perOrder =
      r.cpuMsPerPaidOrder !== undefined
        ? `, ${r.cpuMsPerPaidOrder} ms per paid order (target 2)`
        : '';
    console.log(
      `  CPU            ${r.cpuMsPerCall} ms per call${perOrder}  (${ratio(r.cpuMsPerPaidOrder ?? r.cpuMsPerCall, echo.cpuMsPerCall)} the trivial server's per call)`,
    );
    console.log(`  CPU s by proc  ${JSON.stringify(r.cpuSecondsByProcess)}`);
    console.log(
      `  PG xacts       ${r.commitsPerUnit} per ${r.paidOrdersPerSecond !== undefined ? 'paid order' : 'call'}, reads and pollers included (pgbench's order: 1)`,
    );
    console.log(
      `  peak RSS MiB   ${JSON.stringify(r.peakRssMiB)} (target 150 each)`,
    );
  }
}

const profileDir = join(outDir, 'profiles');

async function main(): Promise<void> {
  mkdirSync(outDir, {recursive: true});
  const tools = spawnSync(
    'bash',
    [join(repoRoot(), 'deploy', 'tools', 'build-tools.sh'), 'ghz'],
    {
      stdio: 'inherit',
    },
  );
  if (tools.status !== 0) throw new Error('building ghz failed');

  console.log(
    `bench: ${SECONDS}s per scenario after ${WARMUP_SECONDS}s of warm-up, ${CONCURRENCY} requests in flight, ghz on 1 core`,
  );
  console.log(
    'bench: limit 1/2: pgbench, minimal one-transaction order, 32 clients, synchronous commit…',
  );
  const pgbench = await pgbenchBaseline(ADMIN_URL, SECONDS);
  console.log(
    `  spread SKUs ${pgbench.spreadTps.toFixed(0)} tps, one hot SKU ${pgbench.hotTps.toFixed(0)} tps`,
  );
  console.log('bench: limit 2/2: ghz against a trivial grpc-js server…');
  const echo = await echoBaseline();
  console.log(
    `  ${echo.callsPerSecond} calls/s, p99 ${echo.p99Ms} ms, ${echo.cpuMsPerCall} ms CPU per call (server)`,
  );

  if (PROFILE) {
    if (!perfAvailable())
      throw new Error(
        'BENCH_PROFILE=1 needs Linux perf (Debian: apt-get install linux-perf) and perf_event access',
      );
    mkdirSync(profileDir, {recursive: true});
  }
  const {results: directResults, profile} = await direct();
  const balancedResults =
    process.env.BENCH_BALANCER === '0' ? [] : await balanced();
  const auth = process.env.BENCH_AUTH_AB === '0' ? undefined : await authAB();

  console.log(
    '\nresults (limits measured above, in this run, on this machine)\n',
  );
  print([...directResults, ...balancedResults], pgbench, echo);
  if (auth) {
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(
      '\nauth A/B (CreateOrder, spread SKUs, direct; alternating rounds)\n' +
        `  CPU per paid order, auth on:  ${auth.on.join(', ')} ms (mean ${mean(auth.on).toFixed(3)})\n` +
        `  CPU per paid order, auth off: ${auth.off.join(', ')} ms (mean ${mean(auth.off).toFixed(3)})\n` +
        `  auth on costs ${((mean(auth.on) / mean(auth.off) - 1) * 100).toFixed(1)} % CPU per paid order (target: at most 5 %)\n` +
        `  CPU per paid order, auth on + mutual TLS (Order's calls carry certificates, no tokens): ${auth.mtls.join(', ')} ms (mean ${mean(auth.mtls).toFixed(3)})\n` +
        `  mutual TLS costs ${((mean(auth.mtls) / mean(auth.on) - 1) * 100).toFixed(1)} % CPU per paid order over auth on`,
    );
  }

  if (profile) {
    console.log(
      `\nperf profile of the first direct scenario (files in ${profileDir}):\n`,
    );
    console.log(
      summarizePerf(
        Object.fromEntries(
          Object.entries(profile).map(([name, p]) => [name, p.file]),
        ),
      ),
    );
  }
  const body = JSON.stringify(
    {
      when: new Date().toISOString(),
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      limits: {pgbench, echo},
      authAB: auth,
      results: [...directResults, ...balancedResults],
    },
    null,
    2,
  );
  const file = join(
    outDir,
    `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  writeFileSync(file, body);
  writeFileSync(join(outDir, 'latest.json'), body);
  console.log(`\nbench: wrote ${file}`);
}

main().then(
  () => process.exit(0),
  err => {
    console.error(`bench: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
