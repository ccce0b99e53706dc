/**
 * The purchase path end to end: five service processes over real gRPC, on the real
 * PostgreSQL, Redis and RabbitMQ.
 */
import {randomUUID} from 'node:crypto';
import {Code, ConnectError, createClient} from '@connectrpc/connect';
import {createGrpcWebTransport} from '@connectrpc/connect-node';
import {
  StockAdjustmentReason,
  ReservationState,
} from '../../../gen/agora/inventory/v1/inventory_pb.js';
import {InventoryService} from '../../../gen/agora/inventory/v1/inventory_service_pb.js';
import {
  FailureReason,
  OrderState,
} from '../../../gen/agora/order/v1/order_pb.js';
import {PaymentState} from '../../../gen/agora/payment/v1/payment_pb.js';
import {GroupBy} from '../../../gen/agora/report/v1/report_pb.js';
import {startReplicaTestSystem} from '../../common/testing/replica_test_system.js';
import {
  eventually,
  startTestSystem,
  type TestSystem,
} from '../../common/testing/test_system.js';

/**
 * Ports of the replica variant (AGORA_TEST_SYSTEM=replicas): frontends 31051–31055 (HTTP
 * 32051–32055), replicas 18101–18502 (HTTP 19101–19502), stats 31404; none used by
 * another test or bench, all below 32768 (Linux's range for outgoing connections).
 */
export const REPLICA_PORTS = {
  frontendPortBase: 31050,
  replicaPortBase: 18000,
  statsPort: 31404,
};

// Set up at load time: a setup that fails then fails the suite once, with its own
// message, instead of once per test followed by TypeErrors from the teardown.
// purchase_mtls.integration.test.ts runs this same suite over mutual TLS, and
// purchase_mtls_replicas.integration.test.ts over mutual TLS through the replica set
// (2 replicas of each service behind HAProxy, AGORA_TEST_SYSTEM=replicas).
const mutualTls = process.env.AGORA_TEST_MUTUAL_TLS === '1';
const replicas = process.env.AGORA_TEST_SYSTEM === 'replicas';
const name = `purchase${mutualTls ? '_mtls' : ''}${replicas ? '_replicas' : ''}`;
export const sys: TestSystem = replicas
  ? await startReplicaTestSystem(name, {}, {mutualTls, ports: REPLICA_PORTS})
  : await startTestSystem(name, {}, {mutualTls});

afterAll(() => sys.stop(), 60_000);

/** Makes a SKU sellable by RPC alone: stock through Inventory, a price through Pricing. */
async function sellable(
  sku: string,
  units: number,
  usd: string,
): Promise<void> {
  await sys.inventory.adjustStock({
    requestId: randomUUID(),
    sku,
    delta: units,
    reason: StockAdjustmentReason.RESTOCK,
  });
  await sys.pricing.setBasePrice({
    sku,
    price: {currencyCode: 'USD', amount: usd},
  });
}

async function stockInPostgres(
  sku: string,
): Promise<{on_hand: number; reserved: number}> {
  const {rows} = await sys.db.query(
    'select on_hand, reserved from inventory.stock_item where sku = $1',
    [sku],
  );
  return rows[0];
}

async function stockInRedis(
  sku: string,
): Promise<{onHand: number; reserved: number; available: number}> {
  const h = await sys.redis.hgetall(`${sys.namespace}:stock:${sku}`);
  return {
    onHand: Number(h.on_hand),
    reserved: Number(h.reserved),
    available: Number(h.available),
  };
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const {rows} = await sys.db.query(sql, params);
  return Number(rows[0].count);
}

function order(
  sku: string,
  quantity: number,
  token = 'tok_visa',
  requestId = randomUUID(),
) {
  return {
    requestId,
    customerId: 'alice',
    currencyCode: 'USD',
    lines: [{sku, quantity}],
    paymentToken: token,
  };
}

async function rpcError(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('CreateOrder()', () => {
  it('charges exactly the quoted amount, takes the stock in PostgreSQL and Redis, and is idempotent', async () => {
    await sellable('TEE-1', 10, '19.99');
    const {quote} = await sys.pricing.createQuote({
      currencyCode: 'USD',
      lines: [{sku: 'TEE-1', quantity: 2}],
    });
    expect(quote?.total?.amount).toBe('39.98');

    const request = order('TEE-1', 2);
    const {order: placed} = await sys.order.createOrder(request);
    expect(placed?.state).toBe(OrderState.PAID);
    expect(placed?.total).toMatchObject({currencyCode: 'USD', amount: '39.98'});

    const {payment} = await sys.payment.getPayment({
      paymentId: placed!.paymentId,
    });
    expect(payment?.state).toBe(PaymentState.CAPTURED);
    expect(payment?.capturedAmount?.amount).toBe('39.98');

    const {order: fetched} = await sys.order.getOrder({
      orderId: placed!.orderId,
    });
    expect(fetched?.state).toBe(OrderState.PAID);
    expect(fetched?.lines[0]).toMatchObject({sku: 'TEE-1', quantity: 2});

    expect(await stockInPostgres('TEE-1')).toEqual({on_hand: 8, reserved: 0});
    expect(await stockInRedis('TEE-1')).toEqual({
      onHand: 8,
      reserved: 0,
      available: 8,
    });

    const {order: again} = await sys.order.createOrder(request);
    expect(again?.orderId).toBe(placed!.orderId);
    const {payments} = await sys.payment.listPayments({
      orderId: placed!.orderId,
    });
    expect(payments).toHaveLength(1);
    expect(await stockInPostgres('TEE-1')).toEqual({on_hand: 8, reserved: 0});
  });

  it('rejects the same request id with a different basket (ALREADY_EXISTS)', async () => {
    await sellable('TEE-2', 10, '5.00');
    const request = order('TEE-2', 1);
    await sys.order.createOrder(request);
    const err = await rpcError(
      sys.order.createOrder({...request, lines: [{sku: 'TEE-2', quantity: 2}]}),
    );
    expect(err.code).toBe(Code.AlreadyExists);
    expect(err.rawMessage).toContain('request_id');
  });

  it('fails the order on a declined card and gives everything back', async () => {
    await sellable('MUG-1', 5, '12.50');
    const {order: failed} = await sys.order.createOrder(
      order('MUG-1', 2, 'tok_decline'),
    );
    expect(failed?.state).toBe(OrderState.FAILED);
    expect(failed?.failureReason).toBe(FailureReason.PAYMENT_DECLINED);

    const {payment} = await sys.payment.getPayment({
      paymentId: failed!.paymentId,
    });
    expect(payment?.state).toBe(PaymentState.DECLINED);
    expect(payment?.capturedAmount?.amount ?? '0').toMatch(/^0(\.0+)?$/);
    const {reservation} = await sys.inventory.getReservation({
      reservationId: failed!.reservationId,
    });
    expect(reservation?.state).toBe(ReservationState.RELEASED);
    expect(await stockInPostgres('MUG-1')).toEqual({on_hand: 5, reserved: 0});
    expect(await stockInRedis('MUG-1')).toEqual({
      onHand: 5,
      reserved: 0,
      available: 5,
    });
  });

  describe('bad input', () => {
    const cases: Array<[string, (sku: string) => object, Code, RegExp]> = [
      [
        'zero quantity',
        sku => ({...order(sku, 0)}),
        Code.InvalidArgument,
        /lines\[0\]\.quantity/,
      ],
      [
        'negative quantity',
        sku => ({...order(sku, -3)}),
        Code.InvalidArgument,
        /lines\[0\]\.quantity/,
      ],
      [
        'malformed currency',
        sku => ({...order(sku, 1), currencyCode: 'usd'}),
        Code.InvalidArgument,
        /currency_code/,
      ],
      [
        'unknown currency',
        sku => ({...order(sku, 1), currencyCode: 'XYZ'}),
        Code.InvalidArgument,
        /currency_code/,
      ],
      [
        'empty lines',
        sku => ({...order(sku, 1), lines: []}),
        Code.InvalidArgument,
        /lines/,
      ],
      [
        'missing request id',
        sku => ({...order(sku, 1), requestId: ''}),
        Code.InvalidArgument,
        /request_id/,
      ],
      [
        'unknown SKU',
        () => order('NO-SUCH-SKU', 1),
        Code.NotFound,
        /NO-SUCH-SKU/,
      ],
      [
        'duplicate SKU lines',
        sku => ({
          ...order(sku, 1),
          lines: [
            {sku, quantity: 1},
            {sku, quantity: 2},
          ],
        }),
        Code.InvalidArgument,
        /lines\[1\]\.sku/,
      ],
    ];
    it.each(cases)(
      'rejects %s and writes nothing',
      async (_name, make, code, field) => {
        await sellable('CAP-1', 3, '24.00');
        const before = await count(
          'select count(*) from ordering.customer_order',
        );
        const reservations = await count(
          'select count(*) from inventory.reservation',
        );
        const err = await rpcError(
          sys.order.createOrder(make('CAP-1') as never),
        );
        expect(err.code).toBe(code);
        expect(err.rawMessage).toMatch(field);
        expect(
          await count('select count(*) from ordering.customer_order'),
        ).toBe(before);
        expect(await count('select count(*) from inventory.reservation')).toBe(
          reservations,
        );
      },
    );
  });

  it('sells exactly the stock to 100 concurrent buyers of 10 units', async () => {
    await sellable('HOT-1', 10, '9.99');
    const results = await Promise.allSettled(
      Array.from({length: 100}, (_, i) =>
        sys.order.createOrder({...order('HOT-1', 1), customerId: `buyer-${i}`}),
      ),
    );
    const paid = results.filter(
      r => r.status === 'fulfilled' && r.value.order?.state === OrderState.PAID,
    );
    const rejected = results.filter(
      (r): r is PromiseRejectedResult => r.status === 'rejected',
    );
    expect(paid).toHaveLength(10);
    expect(rejected).toHaveLength(90);
    for (const r of rejected) {
      expect(r.reason).toBeInstanceOf(ConnectError);
      expect([Code.FailedPrecondition, Code.ResourceExhausted]).toContain(
        r.reason.code,
      );
      expect(r.reason.rawMessage).toContain('HOT-1');
    }
    expect(await stockInPostgres('HOT-1')).toEqual({on_hand: 0, reserved: 0});
    expect(await stockInRedis('HOT-1')).toEqual({
      onHand: 0,
      reserved: 0,
      available: 0,
    });
    expect(
      await count(
        "select count(*) from inventory.reservation where state = 'active'",
      ),
    ).toBe(0);
    expect(
      await count(
        `select count(*) from inventory.reservation r join inventory.reservation_line l using (reservation_id)
          where l.sku = 'HOT-1' and r.state = 'committed'`,
      ),
    ).toBe(10);
    expect(
      await count(
        "select count(*) from payment.payment where state = 'captured' and order_id in (select order_id::text from ordering.customer_order where state = 'paid' and lines @> '[{\"sku\":\"HOT-1\"}]')",
      ),
    ).toBe(10);
  }, 60_000);
});

describe('edges', () => {
  it('answers Connect JSON from plain HTTP', async () => {
    await sellable('SOCK-1', 4, '7.99');
    const url = `http://${sys.mesh.processes.inventory.httpAddress}/agora.inventory.v1.InventoryService/GetStock`;
    const res = await fetch(url, {
      method: 'POST',
      headers: {'content-type': 'application/json', authorization: sys.admin},
      body: JSON.stringify({sku: 'SOCK-1'}),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      stock: {sku: 'SOCK-1', onHand: 4, available: 4},
    });
  });

  it('answers gRPC-Web', async () => {
    const client = createClient(
      InventoryService,
      createGrpcWebTransport({
        baseUrl: `http://${sys.mesh.processes.inventory.httpAddress}`,
        httpVersion: '1.1',
        interceptors: [
          next => req => {
            req.header.set('authorization', sys.admin);
            return next(req);
          },
        ],
      }),
    );
    const {stock} = await client.getStock({sku: 'SOCK-1'});
    expect(stock?.onHand).toBe(4);
  });
});

describe('sales report', () => {
  it('sums the paid order lines per product from the order events', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const row = await eventually(async () => {
      const {report} = await sys.report.getSalesReport({
        startDate: today,
        endDate: today,
        groupBy: GroupBy.PRODUCT,
      });
      const hot = report?.rows.find(r => r.key === 'HOT-1');
      return hot && hot.units === 10n ? hot : undefined;
    }, 20_000);
    expect(row.revenue).toMatchObject({currencyCode: 'USD', amount: '99.90'});
    expect(row.orders).toBe(10n);
  });
});

describe('dynamic prices', () => {
  async function effectivePrice(sku: string): Promise<string | undefined> {
    const {prices} = await sys.pricing.getPrices({
      skus: [sku],
      currencyCode: 'USD',
    });
    return prices[0]?.effectivePrice?.amount;
  }

  it('rise when paid orders reach a demand rule, and quotes charge the new price', async () => {
    await sellable('DYN-DEMAND', 50, '10.00');
    await sys.pricing.createPriceRule({
      name: 'three sold within an hour',
      sku: 'DYN-DEMAND',
      condition: {
        case: 'demandAtOrAbove',
        value: {units: 3, window: {seconds: 3600n}},
      },
      adjustmentPercent: '10',
    });
    expect(await effectivePrice('DYN-DEMAND')).toBe('10.00');
    // Sold together, so the order.paid events reach Pricing in one delivery.
    const paid = await Promise.all(
      [1, 1, 1].map(q => sys.order.createOrder(order('DYN-DEMAND', q))),
    );
    expect(paid.map(p => p.order?.state)).toEqual([
      OrderState.PAID,
      OrderState.PAID,
      OrderState.PAID,
    ]);
    expect(
      await eventually(async () => {
        const amount = await effectivePrice('DYN-DEMAND');
        return amount === '11.00' ? amount : undefined;
      }, 20_000),
    ).toBe('11.00');
    const {quote} = await sys.pricing.createQuote({
      currencyCode: 'USD',
      lines: [{sku: 'DYN-DEMAND', quantity: 2}],
    });
    expect(quote?.total).toMatchObject({currencyCode: 'USD', amount: '22.00'});
    // Pricing counted each order once, however often its event was delivered.
    expect(
      await count('select count(*) from pricing.sale where sku = $1', [
        'DYN-DEMAND',
      ]),
    ).toBe(3);
  }, 40_000);

  it('react to the stock level mirrored from Inventory', async () => {
    await sellable('DYN-STOCK', 10, '20.00');
    await sys.pricing.createPriceRule({
      name: 'last units',
      sku: 'DYN-STOCK',
      condition: {case: 'stockAtOrBelow', value: {threshold: 4}},
      adjustmentPercent: '25',
    });
    expect(await effectivePrice('DYN-STOCK')).toBe('20.00');
    await sys.inventory.adjustStock({
      requestId: randomUUID(),
      sku: 'DYN-STOCK',
      delta: -7,
      reason: StockAdjustmentReason.DAMAGE,
    });
    expect(
      await eventually(async () => {
        const amount = await effectivePrice('DYN-STOCK');
        return amount === '25.00' ? amount : undefined;
      }, 20_000),
    ).toBe('25.00');
  }, 40_000);
});
