import {DomainError} from '../../../common/errors/domain_error.js';
import {createLogger} from '../../../common/log/logger.js';
import {Money} from '../../../common/money/money.js';
import {StockShortageError} from '../domain/errors.js';
import {
  FakeInventory,
  FakePayment,
  fakePricing,
  InMemoryOrderStore,
} from './in_memory_fakes.js';
import {PlaceOrder} from './place_order.js';
import type {PricingGateway} from './ports.js';
import {purchaseSteps} from './purchase_steps.js';
import {RecoverOrders} from './recover_orders.js';

const usd = (a: string) => Money.parse(a, 'USD');
const silent = createLogger('test', 'error', () => {});
const clock = {now: () => new Date()};

function system(pricing: PricingGateway = fakePricing()) {
  const store = new InMemoryOrderStore();
  const inventory = new FakeInventory();
  const payment = new FakePayment();
  const steps = purchaseSteps({inventory, payment, reservationTtlMs: 45_000});
  const useCase = new PlaceOrder(store, pricing, steps, clock, silent, {
    attempts: 2,
  });
  const recovery = new RecoverOrders(store, steps, clock, silent, {
    ownerGoneMs: 5_000,
    abandonedAfterMs: 120_000,
    leaseMs: 60_000,
    batch: 50,
    backoffMs: 0,
    maxBackoffMs: 0,
    maxAttempts: 5,
    unknownOutcomeRetryMs: 0,
    unknownOutcomeMaxAttempts: 5,
    concurrency: 1,
  });
  return {store, inventory, payment, useCase, recovery};
}

const command = (requestId = 'req-1') => ({
  requestId,
  customerId: 'alice',
  currencyCode: 'USD',
  lines: [{sku: 'A', quantity: 2}],
  paymentToken: 'tok_visa',
});

describe('PlaceOrder', () => {
  it('runs the steps in order, charges the quoted total and asks for a TTL above the saga deadline', async () => {
    const f = system();
    const order = await f.useCase.execute(command());
    expect(order.state).toBe('paid');
    expect(f.inventory.calls).toEqual(['reserve', 'commit']);
    expect(f.payment.calls).toEqual(['charge']);
    expect(f.payment.payments.get(order.paymentId)?.captured).toEqual(
      usd('5.00'),
    );
    expect(f.inventory.reservations.get(order.reservationId)?.ttlMs).toBe(
      45_000,
    );
  });

  it('answers a repeated request with the same order and calls nothing again', async () => {
    const f = system();
    const first = await f.useCase.execute(command());
    const second = await f.useCase.execute(command());
    expect(second.id).toBe(first.id);
    expect(f.payment.calls).toEqual(['charge']);
  });

  it('refuses the same request id for another basket', async () => {
    const f = system();
    await f.useCase.execute(command());
    await expect(
      f.useCase.execute({...command(), lines: [{sku: 'A', quantity: 3}]}),
    ).rejects.toMatchObject({kind: 'already_exists'});
  });

  it('releases the stock and fails the order when the card is declined', async () => {
    const f = system();
    f.payment.decline = true;
    const order = await f.useCase.execute(command());
    expect(order.state).toBe('failed');
    expect(order.failureReason).toBe('payment_declined');
    expect(f.payment.calls).not.toContain('refund');
    expect(f.inventory.reservations.get(order.reservationId)?.state).toBe(
      'released',
    );
  });

  it('refunds and releases, in reverse order, when committing the stock is refused', async () => {
    const f = system();
    f.inventory.refuseNextCommit = true;
    const order = await f.useCase.execute(command());
    expect(order.state).toBe('failed');
    expect(order.failureReason).toBe('inventory_error');
    expect(f.payment.refunded(order.paymentId)).toEqual(usd('5.00'));
    expect(order.compensationPending).toBe(false);
  });

  it('a charge whose answer was lost is voided by payment id and, found captured, refunded', async () => {
    const f = system();
    f.payment.loseNextChargeAnswer = true;
    await expect(f.useCase.execute(command())).rejects.toMatchObject({
      kind: 'unavailable',
    });
    const [row] = [...f.store.rows.values()];
    expect(row.order.state).toBe('failed');
    expect(row.order.failureReason).toBe('payment_error');
    expect(f.payment.calls).toEqual(['charge', 'void', 'refund']);
    expect(f.payment.refunded(row.order.paymentId)).toEqual(usd('5.00'));
  });

  it('an unknown payment outcome is never closed as nothing charged: the undo stays pending until Payment knows', async () => {
    const f = system();
    f.payment.leaveNextChargePending = true;
    await expect(f.useCase.execute(command())).rejects.toMatchObject({
      kind: 'unavailable',
    });
    const [row] = [...f.store.rows.values()];
    expect(row.order.state).toBe('failed');
    expect(row.order.pendingUndo).toEqual(['charge payment']);
    // Recovery while Payment still does not know: nothing is closed.
    await f.recovery.execute();
    expect((await f.store.find(row.order.id))?.pendingUndo).toEqual([
      'charge payment',
    ]);
    // The provider finally says the money was taken: recovery refunds it.
    f.payment.resolve(row.order.paymentId, usd('5.00'));
    await f.recovery.execute();
    expect(f.payment.refunded(row.order.paymentId)).toEqual(usd('5.00'));
    expect((await f.store.find(row.order.id))?.compensationPending).toBe(false);
  });

  it('compensation after the point of no return: a failed save of PAID after the stock is committed rolls forward, never refunds or releases', async () => {
    const f = system();
    f.store.failSaves = 2; // both attempts of the final save
    await expect(f.useCase.execute(command())).rejects.toMatchObject({
      kind: 'unavailable',
    });
    const [row] = [...f.store.rows.values()];
    expect(row.order.state).toBe('pending');
    expect(row.owner).toBeUndefined(); // handed to recovery at once
    expect(f.payment.calls).toEqual(['charge']);
    expect(f.inventory.calls).toEqual(['reserve', 'commit']);
    await f.recovery.execute();
    const after = await f.store.find(row.order.id);
    expect(after?.state).toBe('paid');
    expect(f.payment.refunded(row.order.paymentId).isZero()).toBe(true);
    expect(f.inventory.calls).not.toContain('release');
  });

  it('release registered before the reserve call: a reservation whose answer was lost is released, not held', async () => {
    const f = system();
    f.inventory.loseNextReserveAnswer = true;
    await expect(f.useCase.execute(command())).rejects.toMatchObject({
      kind: 'unavailable',
    });
    const [row] = [...f.store.rows.values()];
    expect(f.inventory.reservations.get(row.order.reservationId)?.state).toBe(
      'released',
    );
    expect(row.order.failureReason).toBe('inventory_error');
    expect(f.payment.calls).toEqual([]);
  });

  it('Inventory outage: CreateOrder answers UNAVAILABLE without internal addresses, records inventory_error, and the same request_id succeeds once Inventory is back', async () => {
    const f = system();
    f.inventory.down = true;
    const first = f.useCase.execute(command());
    await expect(first).rejects.toMatchObject({kind: 'unavailable'});
    await expect(first).rejects.toThrow('retry with the same request_id');
    await first.catch((err: Error) => {
      expect(err.message).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
    });
    const [failed] = [...f.store.rows.values()];
    expect(failed.order.failureReason).toBe('inventory_error');
    expect(failed.order.failureMessage).not.toMatch(
      /127\.0\.0\.1|ECONNREFUSED/,
    );
    // Still down: the retry is told to come back, and nothing is charged.
    await expect(f.useCase.execute(command())).rejects.toMatchObject({
      kind: 'unavailable',
    });
    f.inventory.down = false;
    const retried = await f.useCase.execute(command());
    expect(retried.state).toBe('paid');
    expect(retried.id).not.toBe(failed.order.id);
    expect(f.payment.calls).toEqual(['charge']);
    // And the same request id now answers the paid order.
    expect((await f.useCase.execute(command())).id).toBe(retried.id);
  });

  it('rethrows out of stock and answers the same on replay', async () => {
    const f = system();
    f.inventory.available = 1;
    await expect(f.useCase.execute(command())).rejects.toBeInstanceOf(
      StockShortageError,
    );
    await expect(f.useCase.execute(command())).rejects.toMatchObject({
      kind: 'failed_precondition',
    });
    expect(f.payment.calls).toEqual([]);
  });

  it('writes nothing when pricing does not know a SKU, and answers UNAVAILABLE with no address when Pricing is down', async () => {
    const unknown = system({
      quote: async () => {
        throw new DomainError('not_found', 'SKU X has no USD price');
      },
    });
    await expect(unknown.useCase.execute(command())).rejects.toThrow('SKU X');
    expect(unknown.store.rows.size).toBe(0);
    const down = system({
      quote: async () => {
        throw new DomainError(
          'unavailable',
          'pricing unavailable: connect ECONNREFUSED 127.0.0.1:50054',
        );
      },
    });
    const answer = down.useCase.execute(command());
    await expect(answer).rejects.toMatchObject({kind: 'unavailable'});
    await answer.catch((err: Error) =>
      expect(err.message).not.toContain('127.0.0.1'),
    );
    expect(down.store.rows.size).toBe(0);
  });
});
