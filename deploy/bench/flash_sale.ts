/**
 * `npm run bench:flash-sale`: 2,000 concurrent CreateOrder calls (ghz) for a SKU with
 * 100 units, twice: once as is, once while Redis is stopped halfway and started again.
 * Each time it checks, from PostgreSQL, Redis and ghz's status codes: exactly 100 paid,
 * 1,900 clear out-of-stock errors, stock 0 in PostgreSQL and in Redis, no reservation
 * left open, and no captured payment without a paid order. Exits 1 when a check fails.
 *
 * Stopping Redis stops it for everything on this machine (a running `npm start` too).
 */
import {execFileSync} from 'node:child_process';
import {join} from 'node:path';
import {Redis} from 'ioredis';
import pg from 'pg';
import {StockAdjustmentReason} from '../../gen/agora/inventory/v1/inventory_pb.js';
import {InventoryService} from '../../gen/agora/inventory/v1/inventory_service_pb.js';
import {PricingService} from '../../gen/agora/pricing/v1/pricing_service_pb.js';
import {derivedId} from '../../services/common/idempotency/derived_id.js';
import {startMesh, type Mesh} from '../../services/common/process/mesh.js';
import {
  localDevIssuer,
  repoRoot,
} from '../../services/common/process/service_process.js';
import {createGrpcClient} from '../../services/common/rpc/grpc_client.js';
import {freshEnvironment} from '../../services/common/testing/isolation.js';
import {runGhz, type GhzReport} from './ghz.js';

const NAMESPACE = 'agoraflash';
const BUYERS = 2000;
const UNITS = 100;

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function stockFor(mesh: Mesh, sku: string, admin: string): Promise<void> {
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
  await inventory.adjustStock({
    requestId: derivedId('flash', sku),
    sku,
    delta: UNITS,
    reason: StockAdjustmentReason.RESTOCK,
  });
  await pricing.setBasePrice({
    sku,
    price: {currencyCode: 'USD', amount: '49.99'},
  });
  inventory.close();
  pricing.close();
}

/** The buyers, as one admin token placing an order for each (admins are not rate-limited). */
function rush(
  mesh: Mesh,
  sku: string,
  admin: string,
  rps?: number,
): Promise<GhzReport> {
  return runGhz({
    metadata: {authorization: admin},
    target: mesh.processes.order.grpcAddress,
    call: 'agora.order.v1.OrderService/CreateOrder',
    data:
      '{"request_id":"{{newUUID}}","customer_id":"buyer-{{.RequestNumber}}","currency_code":"USD",' +
      `"lines":[{"sku":"${sku}","quantity":1}],"payment_token":"tok_visa"}`,
    concurrency: BUYERS,
    total: BUYERS,
    connections: 20,
    rps,
    // 2,000 buyers at once queue for a while; a buyer who waits is still a buyer.
    timeout: '120s',
  });
}

interface Check {
  what: string;
  expected: string | number;
  actual: string | number;
}

async function verify(
  db: pg.Pool,
  redis: Redis,
  sku: string,
  report: GhzReport,
): Promise<Check[]> {
  const one = async (sql: string, params: unknown[] = [sku]) =>
    String((await db.query(sql, params)).rows[0].v);
  const paid = await one(
    "select count(*) as v from ordering.customer_order where state = 'paid' and lines @> jsonb_build_array(jsonb_build_object('sku', $1::text))",
  );
  const stock = await one(
    "select on_hand || '/' || reserved as v from inventory.stock_item where sku = $1",
  );
  const open = await one(
    `select count(*) as v from inventory.reservation r join inventory.reservation_line l using (reservation_id)
      where l.sku = $1 and r.state = 'active'`,
  );
  const orphanCaptures = await one(
    `select count(*) as v from payment.payment p
      where p.state = 'captured'
        and not exists (select 1 from ordering.customer_order o
                         where o.order_id::text = p.order_id and o.state = 'paid')`,
    [],
  );
  const captured = await one(
    `select count(*) as v from payment.payment p join ordering.customer_order o on o.order_id::text = p.order_id
      where p.state = 'captured' and o.lines @> jsonb_build_array(jsonb_build_object('sku', $1::text))`,
  );
  // The mirror catches up after Redis comes back (resync on reconnect): give it a moment.
  let mirrored = '';
  for (let i = 0; i < 50; i++) {
    const h = await redis
      .hgetall(`${NAMESPACE}:stock:${sku}`)
      .catch(() => ({}) as Record<string, string>);
    mirrored = `${h.on_hand}/${h.reserved}/${h.available}`;
    if (mirrored === '0/0/0') break;
    await sleep(200);
  }
  const codes = report.statusCodeDistribution;
  return [
    {what: 'paid orders (PostgreSQL)', expected: UNITS, actual: Number(paid)},
    {what: 'OK answers (ghz)', expected: UNITS, actual: codes.OK ?? 0},
    {
      what: 'FailedPrecondition answers (ghz)',
      expected: BUYERS - UNITS,
      actual: codes.FailedPrecondition ?? 0,
    },
    {
      what: 'other answers (ghz)',
      expected: 0,
      actual: report.count - (codes.OK ?? 0) - (codes.FailedPrecondition ?? 0),
    },
    {what: 'on_hand/reserved (PostgreSQL)', expected: '0/0', actual: stock},
    {
      what: 'on_hand/reserved/available (Redis)',
      expected: '0/0/0',
      actual: mirrored,
    },
    {what: 'open reservations', expected: 0, actual: Number(open)},
    {
      what: 'captured payments of paid orders',
      expected: UNITS,
      actual: Number(captured),
    },
    {
      what: 'captured payments without a paid order',
      expected: 0,
      actual: Number(orphanCaptures),
    },
  ];
}

function stopRedis(): void {
  execFileSync('redis-cli', ['shutdown', 'nosave']);
}

function startRedis(): void {
  execFileSync('bash', [join(repoRoot(), 'deploy', 'local', 'infra.sh')], {
    stdio: 'ignore',
  });
}

function print(title: string, checks: Check[], report: GhzReport): boolean {
  console.log(
    `\n${title}: ${report.count} calls in ${(report.total / 1e9).toFixed(2)} s, codes ${JSON.stringify(report.statusCodeDistribution)}`,
  );
  let ok = true;
  for (const c of checks) {
    const pass = String(c.expected) === String(c.actual);
    ok &&= pass;
    console.log(
      `  ${pass ? 'ok  ' : 'FAIL'} ${c.what}: ${c.actual}${pass ? '' : ` (expected ${c.expected})`}`,
    );
  }
  return ok;
}

async function main(): Promise<void> {
  const isolated = await freshEnvironment('agora_flash', NAMESPACE);
  const databaseUrl = isolated.databaseUrl;
  const redis = new Redis('redis://127.0.0.1:6379/0', {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  // This checker's own connection drops when the scenario stops Redis; it reconnects
  // by itself, and the refused attempts meanwhile are expected, not news.
  redis.on('error', () => undefined);
  await redis.connect();
  console.log('flash sale: starting the system (tracing off)…');
  const issuer = await localDevIssuer();
  const admin = await issuer.bearer({subject: 'flash-sale', roles: ['admin']});
  const mesh = await startMesh({
    env: {
      ...isolated.env,
      ...issuer.env,
      AGORA_TRACING: 'off',
      AGORA_LOG_LEVEL: 'warn',
    },
    anyPorts: true,
    logDir: join(repoRoot(), '.agora', 'bench', 'flash-logs'),
  });
  const db = new pg.Pool({connectionString: databaseUrl, max: 2});
  let ok = true;
  try {
    await stockFor(mesh, 'FLASH-A', admin);
    console.log(`flash sale 1: ${BUYERS} concurrent buyers, ${UNITS} units…`);
    const first = await rush(mesh, 'FLASH-A', admin);
    ok =
      print('flash sale 1', await verify(db, redis, 'FLASH-A', first), first) &&
      ok;

    await stockFor(mesh, 'FLASH-B', admin);
    console.log(
      `\nflash sale 2: ${BUYERS} buyers at 400/s; Redis stopped after 2 s, started again 2 s later…`,
    );
    const running = rush(mesh, 'FLASH-B', admin, 400);
    await sleep(2000);
    stopRedis();
    console.log('  redis stopped');
    await sleep(2000);
    startRedis();
    console.log('  redis started (empty: it keeps nothing on disk)');
    const second = await running;
    await redis.connect().catch(() => undefined);
    ok =
      print(
        'flash sale 2 (Redis stopped halfway)',
        await verify(db, redis, 'FLASH-B', second),
        second,
      ) && ok;
  } finally {
    await db.end();
    redis.disconnect();
    await mesh.stop();
  }
  console.log(
    ok
      ? '\nflash sale: every check passed'
      : '\nflash sale: SOME CHECKS FAILED',
  );
  process.exit(ok ? 0 : 1);
}

main().catch(err => {
  console.error(
    `flash sale: ${err instanceof Error ? err.stack : String(err)}`,
  );
  process.exit(1);
});
