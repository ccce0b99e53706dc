/**
 * `npm run chaos`: the chaos suite. It starts a private PostgreSQL, Redis and RabbitMQ
 * (private_infra.ts) and the five services as real processes on fixed ports (Order
 * reaches Payment through a delay proxy), seeds a catalogue, and then, one fault at a
 * time under a steady load of CreateOrder (plus some RefundOrder and CancelOrder):
 * kills and restarts services, terminates and restarts PostgreSQL, stops Redis and
 * RabbitMQ, and delays Payment's answers past Order's deadline. After each fault it
 * stops the load, polls the invariants (invariants.ts) for up to one recovery period,
 * and prints the calls by status code, the orders by state and every invariant.
 * Exits 1 when an invariant is violated, 2 when the suite itself could not run.
 *
 * Needs root; never touches the shared instances on 5432, 6379 and 5672.
 */
import {rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Redis} from 'ioredis';
import pg from 'pg';
import {StockAdjustmentReason} from '../../gen/agora/inventory/v1/inventory_pb.js';
import {InventoryService} from '../../gen/agora/inventory/v1/inventory_service_pb.js';
import {PricingService} from '../../gen/agora/pricing/v1/pricing_service_pb.js';
import type {ServiceName} from '../../services/common/config/service_config.js';
import {applyServiceRoles} from '../../services/common/db/service_roles.js';
import {derivedId} from '../../services/common/idempotency/derived_id.js';
import {
  checkHealth,
  localDevIssuer,
  repoRoot,
  startServiceProcess,
  waitServing,
  type ServiceProcess,
} from '../../services/common/process/service_process.js';
import {createGrpcClient} from '../../services/common/rpc/grpc_client.js';
import {startDelayProxy, type DelayProxy} from './delay_proxy.js';
import {
  checkInvariants,
  formatCounts,
  type InvariantResult,
} from './invariants.js';
import {startLoad} from './load.js';
import {CHAOS_PG_PORT, PrivateInfra} from './private_infra.js';
import {callReconcile, hasReconcileRpc, readSnapshot} from './snapshot.js';

/** How long the system may take, after the load stops, to satisfy every invariant. */
export const RECOVERY_PERIOD_MS = 20_000;
/** Concurrent order loops: enough to keep sagas in flight at every fault on 2 cores. */
const LOAD_CONCURRENCY = 16;
/** The load's own per-call deadline (a patient client). */
const CLIENT_TIMEOUT_MS = 15_000;
/** Load before the fault, and after the fault ends (the service or server is back). */
const LOAD_BEFORE_MS = 3_000;
const LOAD_AFTER_MS = 4_000;
/** How long a stopped server stays down. */
const DOWN_MS = 3_000;
/** Order's deadline for each call to Payment (its AGORA_ORDER_CALL_TIMEOUT_MS default). */
const ORDER_CALL_TIMEOUT_MS = 10_000;
/** Payment's answers are held this long: past Order's deadline. */
const PAYMENT_DELAY_MS = ORDER_CALL_TIMEOUT_MS + 2_000;
/** How long Payment answers late. */
const DELAY_WINDOW_MS = 5_000;
const POLL_MS = 500;

const DATABASE = 'agora_chaos';
const NAMESPACE = 'agorachaos';
const SKUS = Array.from({length: 8}, (_, i) => `CHAOS-${i + 1}`);
const UNITS_PER_SKU = 100_000;
/** gRPC port of each service; its HTTP port is + 1000; the Payment proxy on 52110. */
const PORTS: Record<ServiceName, number> = {
  order: 52101,
  payment: 52102,
  inventory: 52103,
  pricing: 52104,
  report: 52105,
};
const PAYMENT_PROXY_PORT = 52110;

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface System {
  infra: PrivateInfra;
  proxy: DelayProxy;
  processes: Partial<Record<ServiceName, ServiceProcess>>;
  env: Record<string, string>;
  logDir: string;
  admin: string;
  db: pg.Pool;
  redis: Redis;
  /** Exits nobody asked for (a crash), as lines to print; drained by each fault. */
  crashes: string[];
  /** Processes the harness itself kills (kill -9, clean-up): their exit is no crash. */
  killing: Set<ServiceProcess>;
  faultStartedAt: number;
}

function serviceEnv(sys: System, name: ServiceName): Record<string, string> {
  const prefix = `AGORA_${name.toUpperCase()}_`;
  const peers: Record<string, string> =
    name === 'order'
      ? {
          AGORA_PRICING_ADDR: `127.0.0.1:${PORTS.pricing}`,
          AGORA_INVENTORY_ADDR: `127.0.0.1:${PORTS.inventory}`,
          AGORA_PAYMENT_ADDR: sys.proxy.address,
          AGORA_ORDER_CALL_TIMEOUT_MS: String(ORDER_CALL_TIMEOUT_MS),
        }
      : {};
  return {
    ...sys.env,
    [`${prefix}PORT`]: String(PORTS[name]),
    [`${prefix}HTTP_PORT`]: String(PORTS[name] + 1000),
    ...peers,
  };
}

async function startService(sys: System, name: ServiceName): Promise<void> {
  const p = await startServiceProcess(
    name,
    serviceEnv(sys, name),
    join(sys.logDir, `${name}.log`),
  );
  sys.processes[name] = p;
  p.child.once('exit', (code, signal) => {
    if (sys.killing.has(p)) return;
    if (sys.processes[name] === p) delete sys.processes[name];
    sys.crashes.push(
      `${name} exited by itself (code ${code}, signal ${signal}) ${seconds(Date.now() - sys.faultStartedAt)} after the fault began; see ${join(sys.logDir, `${name}.log`)}`,
    );
  });
}

async function killService(sys: System, name: ServiceName): Promise<void> {
  const p = sys.processes[name];
  if (!p) return;
  sys.killing.add(p);
  await new Promise<void>(resolve => {
    if (p.child.exitCode !== null || p.child.signalCode !== null)
      return resolve();
    p.child.once('exit', () => resolve());
    p.child.kill('SIGKILL');
  });
  delete sys.processes[name];
}

async function createDatabase(infra: PrivateInfra): Promise<string> {
  const admin = new pg.Client({connectionString: infra.adminPgUrl});
  await admin.connect();
  await admin.query(`create database ${DATABASE}`);
  await admin.end();
  const url = `postgres://postgres@127.0.0.1:${CHAOS_PG_PORT}/${DATABASE}`;
  const fresh = new pg.Client({connectionString: url});
  await fresh.connect();
  await applyServiceRoles(fresh);
  await fresh.end();
  return url;
}

async function seed(sys: System): Promise<void> {
  const opts = {authorization: () => sys.admin};
  const inventory = createGrpcClient(
    InventoryService,
    `127.0.0.1:${PORTS.inventory}`,
    opts,
  );
  const pricing = createGrpcClient(
    PricingService,
    `127.0.0.1:${PORTS.pricing}`,
    opts,
  );
  try {
    for (const sku of SKUS) {
      await inventory.adjustStock({
        requestId: derivedId('chaos-seed', sku),
        sku,
        delta: UNITS_PER_SKU,
        reason: StockAdjustmentReason.RESTOCK,
        note: 'chaos suite catalogue',
      });
      await pricing.setBasePrice({
        sku,
        price: {currencyCode: 'USD', amount: '10.00'},
      });
    }
  } finally {
    inventory.close();
    pricing.close();
  }
}

interface Fault {
  name: string;
  /** Injects the fault and ends it (restart, start again, delay off). */
  run(sys: System): Promise<void>;
}

const killAndRestart = (name: ServiceName): Fault => ({
  name: `kill -9 ${name[0].toUpperCase()}${name.slice(1)}, restart it`,
  run: async sys => {
    await killService(sys, name);
    await startService(sys, name);
  },
});

const FAULTS: Fault[] = [
  {name: 'baseline (no fault)', run: async () => undefined},
  killAndRestart('order'),
  killAndRestart('inventory'),
  killAndRestart('payment'),
  {
    name: 'terminate every PostgreSQL connection',
    run: async sys => {
      const c = new pg.Client({connectionString: sys.infra.adminPgUrl});
      await c.connect();
      const r = await c.query(
        `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
          where datname = $1 and pid <> pg_backend_pid()`,
        [DATABASE],
      );
      await c.end();
      console.log(`  terminated ${r.rows[0].n} connections`);
    },
  },
  {
    name: 'restart PostgreSQL',
    run: async sys => {
      await sys.infra.restartPostgres();
    },
  },
  {
    name: 'stop Redis, start it again',
    run: async sys => {
      await sys.infra.stopRedis();
      await sleep(DOWN_MS);
      await sys.infra.startRedis();
    },
  },
  {
    name: 'stop RabbitMQ, start it again',
    run: async sys => {
      await sys.infra.stopRabbit();
      await sleep(DOWN_MS);
      await sys.infra.startRabbit();
    },
  },
  {
    name: `Payment answers delayed ${seconds(PAYMENT_DELAY_MS)} (Order's deadline ${seconds(ORDER_CALL_TIMEOUT_MS)})`,
    run: async sys => {
      sys.proxy.setResponseDelay(PAYMENT_DELAY_MS);
      await sleep(DELAY_WINDOW_MS);
      sys.proxy.setResponseDelay(0);
      // The answers already held are still on their way: wait for them.
      await sleep(PAYMENT_DELAY_MS);
    },
  },
];

interface FaultReport {
  name: string;
  results: InvariantResult[];
  ok: boolean;
  /** Invariants violated by something not already seen after an earlier fault. */
  fresh: string[];
}

async function servicesUp(sys: System): Promise<InvariantResult> {
  const bad = [...sys.crashes];
  for (const name of Object.keys(PORTS) as ServiceName[]) {
    if (!sys.processes[name]) bad.push(`${name} is not running`);
    else if (!(await checkHealth(`127.0.0.1:${PORTS[name]}`, 1000)))
      bad.push(`${name} is not SERVING`);
  }
  return {
    name: 'every service still running and SERVING',
    holds: bad.length === 0,
    details:
      bad.length === 0
        ? 'all five SERVING'
        : `${bad.length}: ${bad.join('; ')}`,
    bad,
  };
}

async function check(sys: System): Promise<InvariantResult[]> {
  const reconcile = () => callReconcile(`127.0.0.1:${PORTS.order}`, sys.admin);
  try {
    return [
      await servicesUp(sys),
      ...checkInvariants(
        await readSnapshot(sys.db, sys.redis, NAMESPACE, reconcile),
      ),
    ];
  } catch (err) {
    return [
      {
        name: 'snapshot readable',
        holds: false,
        details: err instanceof Error ? err.message : String(err),
        bad: ['snapshot unreadable'],
      },
    ];
  }
}

async function runFault(
  sys: System,
  fault: Fault,
  index: number,
  previous: Map<string, Set<string>>,
): Promise<FaultReport> {
  const loadStarted = new Date();
  // The time, to find the fault in the services' logs.
  console.log(
    `\n[${index}] ${fault.name} (load from ${loadStarted.toISOString()})`,
  );
  const load = startLoad({
    orderAddress: `127.0.0.1:${PORTS.order}`,
    admin: sys.admin,
    skus: SKUS,
    concurrency: LOAD_CONCURRENCY,
    callTimeoutMs: CLIENT_TIMEOUT_MS,
  });
  await sleep(LOAD_BEFORE_MS);
  const faultStart = Date.now();
  sys.faultStartedAt = faultStart;
  let faultError: unknown;
  try {
    await fault.run(sys);
  } catch (err) {
    faultError = err;
  }
  const faultMs = Date.now() - faultStart;
  await sleep(LOAD_AFTER_MS);
  const calls = await load.stop();
  const stopped = Date.now();
  let results = await check(sys);
  while (
    results.some(r => !r.holds) &&
    Date.now() - stopped < RECOVERY_PERIOD_MS
  ) {
    await sleep(POLL_MS);
    results = await check(sys);
  }
  const settleMs = Date.now() - stopped;
  const ok = results.every(r => r.holds) && faultError === undefined;
  const byState = (since: Date) =>
    sys.db
      .query(
        'select state, count(*)::int as n from ordering.customer_order where created_at >= $1 group by state',
        [since],
      )
      .then(r =>
        Object.fromEntries(
          r.rows.map((x: {state: string; n: number}) => [x.state, x.n]),
        ),
      )
      .catch(() => ({}) as Record<string, number>);
  const orders = await byState(loadStarted);
  const allOrders = await byState(new Date(0));
  if (faultError !== undefined)
    console.log(
      `  FAULT INJECTION FAILED: ${faultError instanceof Error ? faultError.message : String(faultError)}`,
    );
  console.log(`  fault took ${seconds(faultMs)}`);
  console.log(`  calls by status code: ${formatCounts(calls)}`);
  console.log(
    `  orders by state: this fault's ${formatCounts(orders)}; all so far ${formatCounts(allOrders)}`,
  );
  const fresh: string[] =
    faultError === undefined ? [] : ['fault injection failed'];
  for (const r of results) {
    const seen = previous.get(r.name) ?? new Set<string>();
    const carried = r.bad.filter(b => seen.has(b)).length;
    if (carried < r.bad.length) fresh.push(r.name);
    const note =
      carried > 0
        ? ` [${carried} of them already seen after an earlier fault]`
        : '';
    console.log(
      `  ${r.holds ? 'holds   ' : 'VIOLATED'} ${r.name}: ${r.details}${note}`,
    );
    previous.set(r.name, new Set([...seen, ...r.bad]));
  }
  console.log(
    ok
      ? `  settled ${seconds(settleMs)} after the load stopped`
      : `  NOT settled within the recovery period (${seconds(RECOVERY_PERIOD_MS)})`,
  );
  // A crashed service stays down (nothing supervises it here): start it again, so the
  // next fault meets the whole system and is judged on its own.
  sys.crashes.length = 0;
  const down = (Object.keys(PORTS) as ServiceName[]).filter(
    n => !sys.processes[n],
  );
  for (const name of down) {
    console.log(`  (the harness restarts ${name}, which had exited)`);
    await startService(sys, name);
  }
  if (down.length > 0)
    await waitServing(Object.values(PORTS).map(p => `127.0.0.1:${p}`));
  return {name: fault.name, results, ok, fresh};
}

async function main(): Promise<number> {
  const began = Date.now();
  // Not under .agora: that directory holds keys and is private to its owner, while the
  // postgres and rabbitmq users must reach their data directories. One state directory
  // per machine, like the fixed ports.
  const stateDir = join(tmpdir(), 'agora-chaos');
  const logDir = join(repoRoot(), '.agora', 'chaos-logs');
  const infra = new PrivateInfra(stateDir);
  await infra.preflight();
  console.log('chaos: private PostgreSQL :5433, Redis :6390, RabbitMQ :5673…');
  await infra.cleanLeftovers();
  rmSync(logDir, {recursive: true, force: true});
  let sys: System | undefined;
  const cleanup = async () => {
    if (sys) {
      for (const name of Object.keys(sys.processes) as ServiceName[])
        await killService(sys, name);
      await sys.proxy.close().catch(() => undefined);
      await sys.db.end().catch(() => undefined);
      sys.redis.disconnect();
    }
    await infra.cleanLeftovers();
  };
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    console.log('\nchaos: interrupted, cleaning up…');
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await infra.startAll();
    const databaseUrl = await createDatabase(infra);
    const issuer = await localDevIssuer();
    const admin = await issuer.bearer({subject: 'chaos', roles: ['admin']});
    const proxy = await startDelayProxy(
      {host: '127.0.0.1', port: PORTS.payment},
      PAYMENT_PROXY_PORT,
    );
    const db = new pg.Pool({connectionString: databaseUrl, max: 2});
    db.on('error', () => undefined); // connections die in the PostgreSQL faults
    const redis = new Redis(infra.redisUrl, {maxRetriesPerRequest: 1});
    redis.on('error', () => undefined); // and in the Redis fault
    sys = {
      infra,
      proxy,
      processes: {},
      env: {
        ...issuer.env,
        AGORA_DATABASE_URL: databaseUrl,
        AGORA_REDIS_URL: infra.redisUrl,
        AGORA_AMQP_URL: infra.amqpUrl,
        AGORA_NAMESPACE: NAMESPACE,
        AGORA_TRACING: 'off',
        AGORA_LOG_LEVEL: 'info',
      },
      logDir,
      admin,
      db,
      redis,
      crashes: [],
      killing: new Set(),
      faultStartedAt: Date.now(),
    };
    const system = sys;
    await Promise.all(
      (['pricing', 'inventory', 'payment', 'report'] as const).map(n =>
        startService(system, n),
      ),
    );
    await startService(sys, 'order');
    await waitServing(Object.values(PORTS).map(p => `127.0.0.1:${p}`));
    await seed(sys);
    console.log(
      `chaos: system up and seeded in ${seconds(Date.now() - began)} (${SKUS.length} SKUs × ${UNITS_PER_SKU} units); ` +
        `Reconcile RPC ${hasReconcileRpc() ? 'present: checked' : 'absent: not checked'}; logs in ${logDir}`,
    );
    const reports: FaultReport[] = [];
    const previous = new Map<string, Set<string>>();
    for (const [i, fault] of FAULTS.entries()) {
      if (interrupted) break;
      reports.push(await runFault(sys, fault, i, previous));
    }
    console.log('\nchaos: summary');
    for (const r of reports) {
      const violated = r.results.filter(x => !x.holds).map(x => x.name);
      const line =
        r.fresh.length > 0
          ? `VIOLATED ${r.name}: ${r.fresh.join('; ')}`
          : violated.length > 0
            ? `holds    ${r.name} (only violations left by earlier faults persist: ${violated.join('; ')})`
            : `holds    ${r.name}`;
      console.log(`  ${line}`);
    }
    const ok = reports.every(r => r.ok);
    console.log(
      `chaos: ${ok ? 'every invariant held after every fault' : 'SOME INVARIANTS WERE VIOLATED'} (${seconds(Date.now() - began)})`,
    );
    return ok ? 0 : 1;
  } finally {
    await cleanup();
  }
}

main().then(
  code => process.exit(code),
  err => {
    console.error(`chaos: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(2);
  },
);
