/**
 * A rolling deploy loses no call: the replica set (`npm run start:replicas`, 2 replicas
 * of each service behind HAProxy) takes a steady stream of orders and stock reads while
 * `npm run deploy:rolling` restarts all 10 replicas one by one, and not one call fails.
 *
 * The clients make no retries of their own (`retries: 0`), so the services' shutdown
 * order (NOT_SERVING, drain, then GOAWAY and finish in-flight calls) and HAProxy's checks
 * and retries are what hide the restarts. Order reaches its peers through HAProxy too,
 * so a Payment replica restarting under a saga is hidden the same way.
 *
 * Both commands run as the real processes from dist/ (as `npm test` builds it), on
 * ports of their own, against a fresh database and namespace, so this can run while
 * `npm start` or `npm run start:replicas` run.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {Code, ConnectError} from '@connectrpc/connect';
import {
  ADMIN_PG as PG_ADMIN,
  AMQP_URL,
  freshEnvironment,
  REDIS_URL,
} from '../testing/isolation.js';
import pg from 'pg';
import {StockAdjustmentReason} from '../../../gen/agora/inventory/v1/inventory_pb.js';
import {InventoryService} from '../../../gen/agora/inventory/v1/inventory_service_pb.js';
import {OrderState} from '../../../gen/agora/order/v1/order_pb.js';
import {OrderService} from '../../../gen/agora/order/v1/order_service_pb.js';
import {PricingService} from '../../../gen/agora/pricing/v1/pricing_service_pb.js';
import type {ReplicaState} from '../../../deploy/local/replica_layout.js';
import {localDevIssuer, repoRoot} from '../process/service_process.js';
import {startLauncher, stopLauncher} from '../testing/replica_test_system.js';
import {createGrpcClient, type ClosableClient} from '../rpc/grpc_client.js';
import {eventually} from '../testing/test_system.js';

const NAMESPACE = 'agoratest-rolling';
const DATABASE = 'agora_test_rolling';

/** Ports of its own: frontends 29051–29055 (HTTP 30051–30055), replicas 27101–28502. */
const FRONTEND_PORT_BASE = 29050;
const REPLICA_PORT_BASE = 27000;
const STATS_PORT = 29404;
const STATE_DIR = join(repoRoot(), '.agora', 'test-rolling');

const LOOPS = 16;
const SKU = 'ROLL-1';
const STOCK = 1_000_000;

const databaseUrl = (() => {
  const url = new URL(PG_ADMIN);
  url.pathname = `/${DATABASE}`;
  return url.toString();
})();

/** The environment both commands run with (the launcher passes AGORA_* on). */
const env: NodeJS.ProcessEnv = {
  ...process.env,
  AGORA_STATE_DIR: STATE_DIR,
  AGORA_REPLICAS: '2',
  AGORA_FRONTEND_PORT_BASE: String(FRONTEND_PORT_BASE),
  AGORA_REPLICA_PORT_BASE: String(REPLICA_PORT_BASE),
  AGORA_HAPROXY_STATS_PORT: String(STATS_PORT),
  AGORA_DATABASE_URL: databaseUrl,
  AGORA_REDIS_URL: REDIS_URL,
  AGORA_AMQP_URL: AMQP_URL,
  AGORA_NAMESPACE: NAMESPACE,
  AGORA_LOG_LEVEL: 'info',
  // Ten services and the load share two CPUs here; tracing is tested elsewhere.
  AGORA_TRACING: 'off',
};

const frontend = (k: number) => `127.0.0.1:${FRONTEND_PORT_BASE + k}`;

/** `npm run start:replicas`'s command, once it reports every replica SERVING. */
async function startReplicas(): Promise<ChildProcess> {
  await freshEnvironment(DATABASE, NAMESPACE);
  return startLauncher(env, join(STATE_DIR, 'launcher.log'));
}

// Set up at load time: a setup that fails then fails the suite once, with its own
// message, instead of once per test followed by TypeErrors from the teardown.
const launcher = await startReplicas();
const db = new pg.Pool({connectionString: databaseUrl, max: 2});

afterAll(async () => {
  await stopLauncher(launcher);
  await db.end();
}, 60_000);

/** Runs `npm run deploy:rolling`'s command; resolves with its exit code and output. */
function rollingDeploy(): Promise<{code: number | null; output: string}> {
  const child = spawn(
    process.execPath,
    [join(repoRoot(), 'dist', 'deploy', 'local', 'rolling_deploy.js')],
    {env, stdio: ['ignore', 'pipe', 'pipe']},
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise(resolve =>
    child.once('close', code => resolve({code, output})),
  );
}

interface Tally {
  calls: number;
  /** "<method> <gRPC code name>" or "CreateOrder state=<state>" → count. */
  failures: Map<string, number>;
  paidOrders: number;
  paidUnits: number;
}

function fail(t: Tally, what: string): void {
  t.failures.set(what, (t.failures.get(what) ?? 0) + 1);
}

async function call<T>(
  t: Tally,
  method: string,
  run: () => Promise<T>,
): Promise<T | undefined> {
  t.calls++;
  try {
    return await run();
  } catch (err) {
    const code = err instanceof ConnectError ? Code[err.code] : String(err);
    fail(t, `${method} ${code}`);
    return undefined;
  }
}

/** One client loop: buy 1–3 units, read the stock, until told to stop. */
async function loop(
  i: number,
  order: ClosableClient<typeof OrderService>,
  inventory: ClosableClient<typeof InventoryService>,
  t: Tally,
  stop: AbortSignal,
): Promise<void> {
  for (let n = 0; !stop.aborted; n++) {
    const quantity = 1 + ((i + n) % 3);
    const res = await call(t, 'CreateOrder', () =>
      order.createOrder({
        requestId: randomUUID(),
        customerId: `loop-${i}`,
        currencyCode: 'USD',
        lines: [{sku: SKU, quantity}],
        paymentToken: 'tok_visa',
      }),
    );
    if (res) {
      if (res.order?.state === OrderState.PAID) {
        t.paidOrders++;
        t.paidUnits += quantity;
      } else {
        fail(t, `CreateOrder state=${OrderState[res.order?.state ?? 0]}`);
      }
    }
    await call(t, 'GetStock', () => inventory.getStock({sku: SKU}));
  }
}

async function one(sql: string, params: unknown[] = []): Promise<number> {
  const {rows} = await db.query(sql, params);
  return Number(Object.values(rows[0] as object)[0]);
}

describe('npm run deploy:rolling', () => {
  it('restarts all 10 replicas under load without one failed call', async () => {
    const admin = await (
      await localDevIssuer()
    ).bearer({subject: 'rolling-test', roles: ['admin']});
    const opts = {retries: 0, authorization: () => admin};
    // Several HTTP/2 connections to the balancer, as several clients would have.
    const orders = [1, 2, 3, 4].map(() =>
      createGrpcClient(OrderService, frontend(1), opts),
    );
    const inventories = [1, 2].map(() =>
      createGrpcClient(InventoryService, frontend(3), opts),
    );
    const pricing = createGrpcClient(PricingService, frontend(4), opts);
    try {
      await inventories[0].adjustStock({
        requestId: randomUUID(),
        sku: SKU,
        delta: STOCK,
        reason: StockAdjustmentReason.RESTOCK,
      });
      await pricing.setBasePrice({
        sku: SKU,
        price: {currencyCode: 'USD', amount: '1.00'},
      });

      const tally: Tally = {
        calls: 0,
        failures: new Map(),
        paidOrders: 0,
        paidUnits: 0,
      };
      const stop = new AbortController();
      const loops = Array.from({length: LOOPS}, (_, i) =>
        loop(
          i,
          orders[i % orders.length],
          inventories[i % 2],
          tally,
          stop.signal,
        ),
      );
      await new Promise(r => setTimeout(r, 1500)); // traffic before the first restart
      const before = tally.calls;
      const started = Date.now();
      const deploy = await rollingDeploy();
      const deploySeconds = (Date.now() - started) / 1000;
      const during = tally.calls - before;
      await new Promise(r => setTimeout(r, 1000)); // and after the last
      stop.abort();
      await Promise.all(loops);

      const failed = [...tally.failures.values()].reduce((a, b) => a + b, 0);
      console.log(
        `rolling deploy under load: ${failed} failed / ${tally.calls} calls ` +
          `(${during} during the ${deploySeconds.toFixed(1)} s deploy), ` +
          `${tally.paidOrders} paid orders, ${tally.paidUnits} units; ` +
          `failures by code: ${JSON.stringify(Object.fromEntries(tally.failures))}\n${deploy.output}`,
      );
      expect(deploy.code).toBe(0);
      expect(deploy.output).toMatch(/restarted all 10 replicas/);
      expect(Object.fromEntries(tally.failures)).toEqual({});
      expect(during).toBeGreaterThan(1000);

      // Every order the clients saw PAID is paid in the database, and nothing else is.
      const paidInDb = await one(
        "select count(*) from ordering.customer_order where state = 'paid' and lines @> $1::jsonb",
        [JSON.stringify([{sku: SKU}])],
      );
      expect(paidInDb).toBe(tally.paidOrders);
      expect(
        await one(
          "select count(*) from ordering.customer_order where state <> 'paid' and lines @> $1::jsonb",
          [JSON.stringify([{sku: SKU}])],
        ),
      ).toBe(0);
      // Stock taken = units of paid orders; nothing left reserved.
      const unitsPaid = await one(
        `select coalesce(sum((l->>'quantity')::int), 0) from ordering.customer_order o,
           jsonb_array_elements(o.lines) l where o.state = 'paid' and l->>'sku' = $1`,
        [SKU],
      );
      expect(unitsPaid).toBe(tally.paidUnits);
      const onHand = await one(
        'select sum(on_hand) from inventory.stock_item where sku = $1',
        [SKU],
      );
      expect(STOCK - onHand).toBe(unitsPaid);
      await eventually(async () =>
        (await one(
          "select count(*) from inventory.reservation where state = 'active'",
        )) === 0
          ? true
          : undefined,
      );
      expect(
        await one(
          'select sum(reserved) from inventory.stock_item where sku = $1',
          [SKU],
        ),
      ).toBe(0);
      // One captured payment per paid order, and no other money moved.
      expect(
        await one(
          "select count(*) from payment.payment where state = 'captured'",
        ),
      ).toBe(paidInDb);
      expect(
        await one(
          "select count(*) from payment.payment where state <> 'captured'",
        ),
      ).toBe(0);

      // The state file names the new processes: every replica was replaced once.
      const state = JSON.parse(
        readFileSync(join(STATE_DIR, 'replicas.json'), 'utf8'),
      ) as ReplicaState;
      const replicas = Object.values(state.services).flatMap(s => s.replicas);
      expect(replicas).toHaveLength(10);
      expect(replicas.map(r => [r.server, r.generation, r.restarting])).toEqual(
        replicas.map(r => [r.server, 1, false]),
      );
    } finally {
      for (const c of [...orders, ...inventories, pricing]) c.close();
    }
  }, 240_000);
});
