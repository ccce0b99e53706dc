/**
 * The saga's and after-sale's fault paths through the real mesh (five processes, real
 * PostgreSQL, Redis, RabbitMQ): concurrent refunds of one order, a quote past Money's
 * range, and an Inventory outage during CreateOrder (last: it stops Inventory).
 */
import {randomUUID} from 'node:crypto';
import {Code, ConnectError} from '@connectrpc/connect';
import {StockAdjustmentReason} from '../../../gen/agora/inventory/v1/inventory_pb.js';
import {
  FailureReason,
  OrderState,
} from '../../../gen/agora/order/v1/order_pb.js';
import {startTestSystem} from '../../common/testing/test_system.js';

const sys = await startTestSystem('saga_faults');
afterAll(() => sys.stop(), 60_000);

async function sellable(sku: string, units: number, usd: string) {
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

function buy(sku: string, quantity: number, requestId = randomUUID()) {
  return sys.order.createOrder({
    requestId,
    customerId: 'alice',
    currencyCode: 'USD',
    lines: [{sku, quantity}],
    paymentToken: 'tok_visa',
  });
}

async function codeOf(call: Promise<unknown>): Promise<Code | 'ok'> {
  try {
    await call;
    return 'ok';
  } catch (err) {
    if (err instanceof ConnectError) return err.code;
    throw err;
  }
}

describe('after-sale through the mesh', () => {
  it('refunds diverge no more: 20 concurrent partial RefundOrder calls each get a clear code, Order and Payment agree, and CancelOrder still works', async () => {
    await sellable('FAULT-REFUND', 10, '10.00');
    const {order} = await buy('FAULT-REFUND', 10); // 100.00
    expect(order?.state).toBe(OrderState.PAID);
    const orderId = order!.orderId;
    const codes = await Promise.all(
      Array.from({length: 20}, () =>
        codeOf(
          sys.order.refundOrder({
            orderId,
            requestId: randomUUID(),
            amount: {currencyCode: 'USD', amount: '7.00'},
          }),
        ),
      ),
    );
    const ok = codes.filter(c => c === 'ok').length;
    // Every call is OK (it fit), FAILED_PRECONDITION (over the rest) or ABORTED (retry).
    expect(
      codes.every(
        c => c === 'ok' || c === Code.FailedPrecondition || c === Code.Aborted,
      ),
    ).toBe(true);
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBeLessThanOrEqual(14);
    const {payment} = await sys.payment.getPayment({
      paymentId: order!.paymentId,
    });
    const {order: after} = await sys.order.getOrder({orderId});
    expect(after?.refundedAmount?.amount).toBe(payment?.refundedAmount?.amount);
    expect(Number(after?.refundedAmount?.amount)).toBe(ok * 7);
    const {order: cancelled} = await sys.order.cancelOrder({orderId});
    expect(cancelled?.state).toBe(OrderState.CANCELLED);
    const {payment: settled} = await sys.payment.getPayment({
      paymentId: order!.paymentId,
    });
    expect(settled?.refundedAmount?.amount).toBe('100.00');
  }, 60_000);
});

describe('a refund whose record is lost after Payment refunded', () => {
  it('refunds diverge no more: Order cannot record a refund Payment made (its insert times out on a held lock), answers ABORTED, and the sweep records it with the same refund id within seconds', async () => {
    await sellable('FAULT-LOST-REFUND', 10, '10.00');
    const {order} = await buy('FAULT-LOST-REFUND', 10); // 100.00
    const orderId = order!.orderId;
    const requestId = randomUUID();
    // Holding order_refund exclusively lets Order lock the order and call Payment, and
    // makes its insert of the refund wait out its lock timeout: the transaction dies
    // after Payment paid back, as when Order is killed or loses PostgreSQL there.
    const blocker = await sys.db.connect();
    let code: Code | 'ok';
    try {
      await blocker.query('begin');
      await blocker.query('lock table ordering.order_refund in exclusive mode');
      code = await codeOf(
        sys.order.refundOrder({
          orderId,
          requestId,
          amount: {currencyCode: 'USD', amount: '5.00'},
        }),
      );
    } finally {
      await blocker.query('rollback');
      blocker.release();
    }
    expect(code).toBe(Code.Aborted); // retryable with the same request id
    const refunded = async () => ({
      payment: (await sys.payment.getPayment({paymentId: order!.paymentId}))
        .payment?.refundedAmount?.amount,
      order: (await sys.order.getOrder({orderId})).order?.refundedAmount
        ?.amount,
    });
    expect(await refunded()).toEqual({payment: '5.00', order: '0.00'});
    const intents = async () =>
      (
        await (
          await fetch(
            `http://${sys.mesh.processes.order.httpAddress}/metrics`,
            {
              headers: {authorization: sys.admin},
            },
          )
        ).text()
      ).match(
        /agora_after_sale_intents\{[^}]*measure="count"[^}]*\} (\d+)/,
      )?.[1];
    expect(await intents()).toBe('1'); // what operators see meanwhile

    // The sweep takes intents older than 5 s, every recovery pass (1 s).
    const deadline = Date.now() + 20_000;
    while ((await refunded()).order !== '5.00' && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 250));
    }
    expect(await refunded()).toEqual({payment: '5.00', order: '5.00'});
    const {rows} = await sys.db.query(
      'select 1 from ordering.after_sale_intent where order_id = $1',
      [orderId],
    );
    expect(rows).toHaveLength(0);
    expect(await intents()).toBe('0');
    // The client's retry answers the recorded refund; Payment pays back once.
    await sys.order.refundOrder({
      orderId,
      requestId,
      amount: {currencyCode: 'USD', amount: '5.00'},
    });
    expect(await refunded()).toEqual({payment: '5.00', order: '5.00'});
  }, 60_000);
});

describe('money range through the mesh', () => {
  it('refuses a 22-digit total (10,000 × 999999999999999999.99) in CreateQuote and CreateOrder, naming the request field', async () => {
    await sellable('FAULT-HUGE', 20_000, '999999999999999999.99');
    const lines = [{sku: 'FAULT-HUGE', quantity: 10_000}];
    for (const call of [
      sys.pricing.createQuote({currencyCode: 'USD', lines}),
      buy('FAULT-HUGE', 10_000),
    ]) {
      const err = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.InvalidArgument);
      expect((err as ConnectError).rawMessage).toContain('lines[0].quantity');
      expect((err as ConnectError).rawMessage).not.toContain('quote.');
    }
    const {rows} = await sys.db.query(
      'select count(*)::int as n from ordering.customer_order where lines @> \'[{"sku": "FAULT-HUGE"}]\'',
    );
    expect(rows[0].n).toBe(0);
  }, 60_000);
});

describe('an Inventory outage during CreateOrder', () => {
  it('answers UNAVAILABLE with no internal address, records inventory_error, and leaves the request id retryable (not used up by a FAILED order)', async () => {
    await sellable('FAULT-OUTAGE', 5, '1.00');
    await sys.mesh.processes.inventory.stop();
    const requestId = randomUUID();
    const first = await buy('FAULT-OUTAGE', 1, requestId).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(first).toBeInstanceOf(ConnectError);
    expect((first as ConnectError).code).toBe(Code.Unavailable);
    // (The client's own retries of UNAVAILABLE may answer "still being undone".)
    expect((first as ConnectError).rawMessage).toMatch(
      /retry with the same request_id|still being undone; retry later/,
    );
    expect((first as ConnectError).rawMessage).not.toMatch(
      /127\.0\.0\.1|ECONNREFUSED/,
    );
    const {rows} = await sys.db.query(
      'select state, failure_reason, failure_message, retryable from ordering.customer_order where request_id = $1',
      [requestId],
    );
    expect(rows).toEqual([
      {
        state: 'failed',
        failure_reason: 'inventory_error',
        failure_message: 'Inventory could not be reached; nothing was charged',
        retryable: true,
      },
    ]);
    // A retry is not answered OK with the same FAILED order: it is told to retry later.
    expect(await codeOf(buy('FAULT-OUTAGE', 1, requestId))).toBe(
      Code.Unavailable,
    );
    const {orders} = await sys.order.listOrders({customerId: 'alice'});
    expect(
      orders.some(
        o =>
          o.requestId === requestId &&
          o.failureReason === FailureReason.PAYMENT_ERROR,
      ),
    ).toBe(false);
  }, 60_000);
});
