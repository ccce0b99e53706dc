/**
 * Traces and metrics of a real order: one trace across Order → Pricing → Inventory →
 * Payment in a real Jaeger (with PostgreSQL and Redis spans), the trace id in the order's
 * log line, and Prometheus metrics scraped from the services afterwards.
 */
import {spawnSync} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {StockAdjustmentReason} from '../../../gen/agora/inventory/v1/inventory_pb.js';
import {OrderState} from '../../../gen/agora/order/v1/order_pb.js';
import {
  ensureJaeger,
  JAEGER_OTLP_HTTP,
  jaegerTrace,
  type RunningJaeger,
} from '../../common/process/jaeger.js';
import {repoRoot} from '../../common/process/service_process.js';
import {
  eventually,
  startTestSystem,
  type TestSystem,
} from '../../common/testing/test_system.js';

// Set up at load time: a setup that fails (Jaeger missing, say) then fails the suite
// once, with its own message, instead of once per test plus follow-on TypeErrors.
const jaeger: RunningJaeger = await ensureJaeger();
const sys: TestSystem = await startTestSystem('observability', {
  AGORA_TRACING: 'on',
  OTEL_EXPORTER_OTLP_ENDPOINT: JAEGER_OTLP_HTTP,
}).catch(async (err: unknown) => {
  await jaeger.stop();
  throw err;
});

afterAll(async () => {
  await sys.stop();
  await jaeger.stop();
}, 60_000);

async function placeOrder(): Promise<string> {
  await sys.inventory.adjustStock({
    requestId: randomUUID(),
    sku: 'OBS-1',
    delta: 5,
    reason: StockAdjustmentReason.RESTOCK,
  });
  await sys.inventory.setLowStockThreshold({sku: 'OBS-1', threshold: 4});
  await sys.pricing.setBasePrice({
    sku: 'OBS-1',
    price: {currencyCode: 'USD', amount: '3.00'},
  });
  const {order} = await sys.order.createOrder({
    requestId: randomUUID(),
    customerId: 'otel',
    currencyCode: 'USD',
    lines: [{sku: 'OBS-1', quantity: 2}],
    paymentToken: 'tok_visa',
  });
  expect(order?.state).toBe(OrderState.PAID);
  return order!.orderId;
}

/** The value of one series in Prometheus text format, whatever the label order. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries(
      [...m[2].matchAll(/(\w+)="([^"]*)"/g)].map(x => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v))
      return Number(m[3]);
  }
  return undefined;
}

async function scrape(service: 'order' | 'inventory'): Promise<string> {
  const res = await fetch(
    `http://${sys.mesh.processes[service].httpAddress}/metrics`,
    {headers: {authorization: sys.admin}},
  );
  expect(res.status).toBe(200);
  return res.text();
}

describe('an order', () => {
  let orderId: string;

  /** The trace id in the order's "order paid" log line. */
  async function orderTraceId(): Promise<string> {
    const logFile = join(
      repoRoot(),
      '.agora',
      'test-logs',
      'observability',
      'order.log',
    );
    const line = await eventually(async () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .find(l => l.includes('"order paid"') && l.includes(orderId)),
    );
    const traceId = (JSON.parse(line) as {traceId?: string}).traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    return traceId!;
  }
  beforeAll(async () => {
    orderId = await placeOrder();
  }, 30_000);

  it('is one trace across the four services, with PostgreSQL and Redis spans, whose id is in the order log', async () => {
    const traceId = await orderTraceId();

    // The root span ends last and may reach Jaeger in a later export batch than its
    // children, so wait for every expected operation, then assert on what is there.
    const expected = [
      'agora-order grpc.agora.order.v1.OrderService/CreateOrder',
      'agora-pricing grpc.agora.pricing.v1.PricingService/CreateQuote',
      'agora-inventory grpc.agora.inventory.v1.InventoryService/ReserveStock',
      'agora-payment grpc.agora.payment.v1.PaymentService/AuthorizePayment',
    ];
    const opsOf = (t: NonNullable<Awaited<ReturnType<typeof jaegerTrace>>>) =>
      t.spans.map(
        s => `${t.processes[s.processID].serviceName} ${s.operationName}`,
      );
    const trace = await eventually(async () => {
      const t = await jaegerTrace(traceId);
      return t && expected.every(op => opsOf(t).includes(op)) ? t : undefined;
    }, 30_000).catch(() => jaegerTrace(traceId));
    expect(trace).toBeDefined();
    const ops = opsOf(trace!);
    for (const op of expected) expect(ops).toContain(op);
    expect(ops.some(o => o.startsWith('agora-inventory pg.query'))).toBe(true);
    expect(ops.some(o => o.startsWith('agora-payment pg.query'))).toBe(true);
    expect(ops.some(o => /^agora-inventory (evalsha|eval)/.test(o))).toBe(true);
    // Exactly one root: the CreateOrder server span.
    expect(trace!.spans.filter(s => s.references.length === 0)).toHaveLength(1);
  }, 60_000);

  it("consumer spans join the order's trace", async () => {
    // The order.paid event carries the trace context of the transaction that wrote it
    // (outbox row → message headers), so Report's and Pricing's handling of it are
    // spans of the order's trace, children of a span in it.
    const traceId = await orderTraceId();
    const consumers = [
      'agora-report process order.paid',
      'agora-pricing process order.paid',
    ];
    const trace = await eventually(async () => {
      const t = await jaegerTrace(traceId);
      const ops = t?.spans.map(
        s => `${t.processes[s.processID].serviceName} ${s.operationName}`,
      );
      return t && consumers.every(op => ops!.includes(op)) ? t : undefined;
    }, 30_000).catch(() => jaegerTrace(traceId));
    expect(trace).toBeDefined();
    const ids = new Set(trace!.spans.map(s => s.spanID));
    for (const op of consumers) {
      const span = trace!.spans.find(
        s =>
          `${trace!.processes[s.processID].serviceName} ${s.operationName}` ===
          op,
      );
      expect(span).toBeDefined();
      expect(span!.traceID).toBe(traceId);
      // A child of a span of this trace, not a root of its own.
      expect(span!.references.some(r => ids.has(r.spanID))).toBe(true);
    }
  }, 60_000);

  it('is printed as a tree of spans by `npm run trace -- ORDER_ID`', async () => {
    // Runs after the consumer-span test, which waited for Report's span: five services.
    const run = spawnSync(
      process.execPath,
      [join(repoRoot(), 'dist', 'deploy', 'local', 'trace.js'), orderId],
      {encoding: 'utf8', timeout: 30_000},
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^trace [0-9a-f]{32}: \d+ spans in 5 services \(agora-inventory, agora-order, agora-payment, agora-pricing, agora-report\), [\d.]+ ms$/,
    );
    // The root first, at offset 0, then its children drawn under it.
    expect(lines[2]).toMatch(
      /^ +0\.0 ms +[\d.]+ ms {2}agora-order +grpc\.agora\.order\.v1\.OrderService\/CreateOrder$/,
    );
    for (const [service, method] of [
      ['agora-pricing', 'PricingService/CreateQuote'],
      ['agora-inventory', 'InventoryService/ReserveStock'],
      ['agora-payment', 'PaymentService/AuthorizePayment'],
    ]) {
      expect(
        lines.some(l =>
          new RegExp(
            `ms  ${service} +[│ ]*[├└]─ grpc\\.agora\\..*${method}$`,
          ).test(l),
        ),
      ).toBe(true);
    }
    expect(run.stdout).not.toContain('ERROR');
  }, 60_000);

  it('shows up in the metrics', async () => {
    const order = await scrape('order');
    const createOk = {method: 'CreateOrder', code: 'OK'};
    expect(sample(order, 'agora_orders_total', {outcome: 'paid'})).toBe(1);
    expect(sample(order, 'agora_rpc_requests_total', createOk)).toBe(1);
    expect(sample(order, 'agora_rpc_duration_seconds_count', createOk)).toBe(1);
    expect(
      sample(order, 'agora_rpc_duration_seconds_bucket', {
        ...createOk,
        le: '5',
      }),
    ).toBe(1);
    expect(
      sample(order, 'agora_outbox_lag_seconds', {}),
    ).toBeGreaterThanOrEqual(0);

    const inventory = await scrape('inventory');
    const obs = {sku: 'OBS-1', warehouse: 'main'};
    expect(sample(inventory, 'agora_stock_on_hand', obs)).toBe(3);
    expect(sample(inventory, 'agora_stock_available', obs)).toBe(3);
    expect(sample(inventory, 'agora_stock_low', obs)).toBe(1);
    expect(sample(inventory, 'agora_reservations_open', {})).toBe(0);
    expect(
      sample(inventory, 'agora_rpc_requests_total', {
        method: 'ReserveStock',
        code: 'OK',
      }),
    ).toBe(1);
  });
});
