import {createLogger} from '../../../common/log/logger.js';
import {Money} from '../../../common/money/money.js';
import {AfterSale, cancelRefundId} from './after_sale.js';
import {
  FakeInventory,
  FakePayment,
  fakePricing,
  InMemoryOrderStore,
} from './in_memory_fakes.js';
import {PlaceOrder} from './place_order.js';
import {purchaseSteps} from './purchase_steps.js';

const usd = (a: string) => Money.parse(a, 'USD');
const silent = createLogger('test', 'error', () => {});
const clock = {now: () => new Date()};

async function paidOrder() {
  const store = new InMemoryOrderStore();
  const inventory = new FakeInventory();
  const payment = new FakePayment();
  const steps = purchaseSteps({inventory, payment, reservationTtlMs: 1_000});
  const order = await new PlaceOrder(
    store,
    fakePricing('10.00'),
    steps,
    clock,
    silent,
  ).execute({
    requestId: 'buy',
    customerId: 'alice',
    currencyCode: 'USD',
    lines: [{sku: 'A', quantity: 10}],
    paymentToken: 't',
  });
  const afterSale = new AfterSale(store, inventory, payment, clock);
  return {store, payment, order, afterSale};
}

describe('AfterSale', () => {
  it('refunds diverge no more: 20 concurrent partial refunds answer OK while they fit and FAILED_PRECONDITION after, and Order’s refunded total equals Payment’s', async () => {
    const {payment, order, afterSale} = await paidOrder(); // 100.00 paid
    const answers = await Promise.allSettled(
      Array.from({length: 20}, (_, i) =>
        afterSale.refund(order.id, `refund-${i}`, usd('7.00'), '', undefined),
      ),
    );
    const ok = answers.filter(a => a.status === 'fulfilled');
    const refused = answers.filter(a => a.status === 'rejected');
    expect(ok).toHaveLength(14); // 14 × 7.00 = 98.00 ≤ 100.00
    for (const r of refused)
      expect((r as PromiseRejectedResult).reason).toMatchObject({
        kind: 'failed_precondition',
      });
    const stored = await afterSale.cancel(order.id, '', undefined);
    expect(stored.state).toBe('cancelled');
    expect(payment.refunded(order.paymentId)).toEqual(usd('100.00'));
  });

  it('pre-claimed refund ids: a client request id equal to the cancellation’s refund id cannot block CancelOrder', async () => {
    const {payment, order, afterSale} = await paidOrder();
    await afterSale.refund(
      order.id,
      cancelRefundId(order.id),
      usd('1.00'),
      '',
      undefined,
    );
    const cancelled = await afterSale.cancel(order.id, '', undefined);
    expect(cancelled.state).toBe('cancelled');
    expect(payment.refunded(order.paymentId)).toEqual(usd('100.00'));
  });

  it('answers a repeated refund request with the order and refunds once', async () => {
    const {payment, order, afterSale} = await paidOrder();
    await afterSale.refund(order.id, 'r', usd('5.00'), '', undefined);
    await afterSale.refund(order.id, 'r', usd('5.00'), '', undefined);
    expect(payment.refunded(order.paymentId)).toEqual(usd('5.00'));
    await expect(
      afterSale.refund(order.id, 'r', usd('6.00'), '', undefined),
    ).rejects.toMatchObject({kind: 'already_exists'});
  });
});
