import {createLogger} from '../../../common/log/logger.js';
import {Money} from '../../../common/money/money.js';
import {AfterSale, cancelRefundId, DEFAULT_SWEEP_POLICY} from './after_sale.js';
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
  // The sweep takes intents at once (no grace): a test stands for the call that died.
  const afterSale = new AfterSale(store, inventory, payment, clock, silent, {
    ...DEFAULT_SWEEP_POLICY,
    graceMs: 0,
  });
  return {store, inventory, payment, order, afterSale};
}

describe('AfterSale', () => {
  it('refunds diverge no more: 20 concurrent partial refunds answer OK while they fit and FAILED_PRECONDITION after, and Order’s refunded total equals Payment’s', async () => {
    const {store, payment, order, afterSale} = await paidOrder(); // 100.00 paid
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
    expect(store.intents.size).toBe(0); // refused calls leave nothing behind
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

  /** Makes the transaction that records Payment's next refund die at commit. */
  function loseNextRefundRecord(
    store: InMemoryOrderStore,
    payment: FakePayment,
  ) {
    const real = payment.refund.bind(payment);
    payment.refund = async (...args) => {
      await real(...args);
      store.failLockCommits = 1;
      payment.refund = real;
    };
  }

  it('refunds diverge no more: when the record of a refund Payment made is lost (the transaction dies at commit), the sweep records it with the same refund id and Payment pays back once', async () => {
    const {store, payment, order, afterSale} = await paidOrder();
    loseNextRefundRecord(store, payment);
    await expect(
      afterSale.refund(order.id, 'r1', usd('5.00'), '', undefined),
    ).rejects.toThrow('Connection terminated');
    expect(payment.refunded(order.paymentId)).toEqual(usd('5.00'));
    expect((await store.find(order.id))?.refunded).toEqual(usd('0.00'));

    expect(await afterSale.resume()).toBe(1);
    const stored = await store.find(order.id);
    expect(stored?.state).toBe('partially_refunded');
    expect(stored?.refunded).toEqual(usd('5.00'));
    expect(payment.refunded(order.paymentId)).toEqual(usd('5.00'));
    expect(store.intents.size).toBe(0);
    // The rest can be cancelled: Order's refunded total agrees with Payment's.
    await afterSale.cancel(order.id, '', undefined);
    expect(payment.refunded(order.paymentId)).toEqual(usd('100.00'));
  });

  it('a retry of a refund whose record was lost returns the order with the refund, without paying back twice', async () => {
    const {store, payment, order, afterSale} = await paidOrder();
    loseNextRefundRecord(store, payment);
    await expect(
      afterSale.refund(order.id, 'r1', usd('5.00'), '', undefined),
    ).rejects.toThrow();
    const retried = await afterSale.refund(
      order.id,
      'r1',
      usd('5.00'),
      '',
      undefined,
    );
    expect(retried.refunded).toEqual(usd('5.00'));
    expect(payment.refunded(order.paymentId)).toEqual(usd('5.00'));
  });

  it('a cancel whose record was lost after Payment refunded the rest is finished by the sweep: CANCELLED, every unit restocked once, refunded once', async () => {
    const {store, inventory, payment, order, afterSale} = await paidOrder();
    await afterSale.refund(order.id, 'r1', usd('30.00'), '', undefined);
    loseNextRefundRecord(store, payment);
    await expect(afterSale.cancel(order.id, '', undefined)).rejects.toThrow();
    expect((await store.find(order.id))?.state).toBe('partially_refunded');

    expect(await afterSale.resume()).toBe(1);
    expect((await store.find(order.id))?.state).toBe('cancelled');
    expect(payment.refunded(order.paymentId)).toEqual(usd('100.00'));
    expect([...inventory.restocks.values()]).toEqual([10]); // one line, once
  });

  it('a refund that met no answer (Payment down) stays accepted: UNAVAILABLE to the caller, the sweep backs off while Payment is down and refunds once it is back', async () => {
    const {store, payment, order, afterSale} = await paidOrder();
    payment.down = true;
    await expect(
      afterSale.refund(order.id, 'r1', usd('5.00'), '', undefined),
    ).rejects.toMatchObject({kind: 'unavailable'});
    expect(await afterSale.resume()).toBe(0);
    const [intent] = store.intents.values();
    expect(intent.attempts).toBe(1);
    expect((await store.intentBacklog()).count).toBe(1);
    expect(intent.dueAt).toBeGreaterThan(Date.now()); // backed off
    expect(await afterSale.resume()).toBe(0); // not due: not tried

    payment.down = false;
    intent.dueAt = 0; // the back-off has passed
    expect(await afterSale.resume()).toBe(1);
    expect((await store.find(order.id))?.refunded).toEqual(usd('5.00'));
    expect(payment.refunded(order.paymentId)).toEqual(usd('5.00'));
    expect((await store.intentBacklog()).count).toBe(0);
  });
});
