/**
 * `npm run bench:rolling`: ghz drives CreateOrder through HAProxy for 80 s while the
 * rolling deploy restarts every replica of every service, one at a time. Then it counts
 * ghz's answers by status code (every one must be OK) and checks that stock and payments
 * agree with the paid orders. Exits 1 when anything is off.
 */
import {join} from 'node:path';
import pg from 'pg';
import {StockAdjustmentReason} from '../../gen/agora/inventory/v1/inventory_pb.js';
import {InventoryService} from '../../gen/agora/inventory/v1/inventory_service_pb.js';
import {PricingService} from '../../gen/agora/pricing/v1/pricing_service_pb.js';
import {
  localDevIssuer,
  repoRoot,
} from '../../services/common/process/service_process.js';
import {createGrpcClient} from '../../services/common/rpc/grpc_client.js';
import {freshEnvironment} from '../../services/common/testing/isolation.js';
import {runGhz} from './ghz.js';
import {rollingDeploy, startReplicaSystem} from './replica_system.js';

// Long enough to cover the whole deploy (about 65 s for 10 replicas here), not just part of it.
const SECONDS = Number(process.env.BENCH_SECONDS ?? 80);
const STOCK = 1_000_000;
const SKU = 'ROLL-1';

async function main(): Promise<void> {
  const isolated = await freshEnvironment(
    'agora_bench_rolling',
    'agorabenchroll',
  );
  const env = {
    ...isolated.env,
    AGORA_TRACING: 'off',
    AGORA_LOG_LEVEL: 'warn',
    AGORA_REPLICAS: '2',
    // Every port below 32768, the range Linux hands out to outgoing connections: a
    // frontend at 34054 once failed to bind because a PostgreSQL connection held it.
    AGORA_FRONTEND_PORT_BASE: '14050',
    AGORA_REPLICA_PORT_BASE: '16000',
    AGORA_HAPROXY_STATS_PORT: '14404',
    AGORA_STATE_DIR: join(repoRoot(), '.agora', 'bench', 'rolling'),
  };
  console.log('rolling: starting 2 replicas per service behind HAProxy…');
  const system = await startReplicaSystem(env);
  const db = new pg.Pool({connectionString: isolated.databaseUrl, max: 2});
  let ok = true;
  const admin = await (
    await localDevIssuer()
  ).bearer({subject: 'rolling', roles: ['admin']});
  try {
    const opts = {authorization: () => admin};
    const inventory = createGrpcClient(
      InventoryService,
      system.frontends.inventory,
      opts,
    );
    const pricing = createGrpcClient(
      PricingService,
      system.frontends.pricing,
      opts,
    );
    await inventory.adjustStock({
      requestId: crypto.randomUUID(),
      sku: SKU,
      delta: STOCK,
      reason: StockAdjustmentReason.RESTOCK,
    });
    await pricing.setBasePrice({
      sku: SKU,
      price: {currencyCode: 'USD', amount: '5.00'},
    });
    inventory.close();
    pricing.close();

    console.log(
      `rolling: ghz CreateOrder through HAProxy for ${SECONDS}s; the rolling deploy starts after 3 s…`,
    );
    const load = runGhz({
      target: system.frontends.order,
      call: 'agora.order.v1.OrderService/CreateOrder',
      data:
        '{"request_id":"{{newUUID}}","customer_id":"roll-{{.WorkerID}}","currency_code":"USD",' +
        `"lines":[{"sku":"${SKU}","quantity":1}],"payment_token":"tok_visa"}`,
      concurrency: 16,
      duration: `${SECONDS}s`,
      metadata: {authorization: admin},
    });
    await new Promise(r => setTimeout(r, 3000));
    const started = Date.now();
    const deploy = await rollingDeploy(env);
    console.log(
      `rolling: deploy exited ${deploy.code} after ${((Date.now() - started) / 1000).toFixed(1)} s:\n` +
        deploy.output
          .split('\n')
          .filter(l => /restarted|replicas|done|HAProxy/i.test(l))
          .map(l => `  ${l}`)
          .join('\n'),
    );
    const report = await load;
    const codes = report.statusCodeDistribution;
    const failed = report.count - (codes.OK ?? 0);
    console.log(
      `\nrolling: ghz ${report.count} calls, by status code ${JSON.stringify(codes)}`,
    );

    const one = async (sql: string) => (await db.query(sql, [SKU])).rows[0];
    const paid = await one(
      `select count(*) as n, coalesce(sum((l->>'quantity')::int), 0) as units
         from ordering.customer_order o, jsonb_array_elements(o.lines) l
        where o.state = 'paid' and l->>'sku' = $1`,
    );
    const other = await one(
      `select count(*) as n from ordering.customer_order
        where state <> 'paid' and lines @> jsonb_build_array(jsonb_build_object('sku', $1::text))`,
    );
    const stock = await one(
      'select on_hand, reserved from inventory.stock_item where sku = $1',
    );
    const captured = await one(
      `select count(*) as n from payment.payment p join ordering.customer_order o on o.order_id::text = p.order_id
        where p.state = 'captured' and o.state = 'paid' and $1::text is not null`,
    );
    const open = await one(
      `select count(*) as n from inventory.reservation r join inventory.reservation_line l using (reservation_id)
        where r.state = 'active' and l.sku = $1`,
    );
    const checks: Array<[string, unknown, unknown]> = [
      ['failed RPCs (any code but OK)', 0, failed],
      ['rolling deploy exit code', 0, deploy.code],
      ['OK answers = paid orders in PostgreSQL', codes.OK ?? 0, Number(paid.n)],
      ['orders in any other state', 0, Number(other.n)],
      [
        'units taken from stock = units in paid orders',
        Number(paid.units),
        STOCK - Number(stock.on_hand),
      ],
      ['units still reserved', 0, Number(stock.reserved)],
      ['captured payments = paid orders', Number(paid.n), Number(captured.n)],
      ['open reservations', 0, Number(open.n)],
    ];
    for (const [what, expected, actual] of checks) {
      const pass = String(expected) === String(actual);
      ok &&= pass;
      console.log(
        `  ${pass ? 'ok  ' : 'FAIL'} ${what}: ${actual}${pass ? '' : ` (expected ${expected})`}`,
      );
    }
  } finally {
    await db.end();
    await system.stop();
  }
  console.log(
    ok
      ? '\nrolling: zero failed calls; stock and payments agree'
      : '\nrolling: CHECKS FAILED',
  );
  process.exit(ok ? 0 : 1);
}

main().catch(err => {
  console.error(`rolling: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
