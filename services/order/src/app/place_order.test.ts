import {jest} from '@jest/globals';
import {
  DomainError,
  UnavailableError,
} from '../../../common/errors/domain_error.js';
import {createLogger} from '../../../common/log/logger.js';
import {Money} from '../../../common/money/money.js';
import {StockShortageError} from '../domain/errors.js';
import type {Order} from '../domain/order.js';
import {PlaceOrder} from './place_order.js';
import type {
  InventoryGateway,
  OrderStore,
  PaymentGateway,
  PricingGateway,
} from './ports.js';

const usd = (a: string) => Money.parse(a, 'USD');
const silent = createLogger('test', 'error', () => {});

function fakes() {
  const orders = new Map<string, Order>();
  const store: OrderStore = {
    insert: jest.fn(async (o: Order) => {
      if (
        [...orders.values()].some(
          x => x.snapshot().requestId === o.snapshot().requestId,
        )
      )
        return false;
      orders.set(o.id, o);
      return true;
    }),
    save: jest.fn(async (o: Order) => {
      o.pullEvents();
      return true;
    }),
    find: jest.fn(async (id: string) => orders.get(id)),
    findByRequestId: jest.fn(async (rid: string) =>
      [...orders.values()].find(o => o.snapshot().requestId === rid),
    ),
    listByCustomer: jest.fn(async () => []),
    needingRecovery: jest.fn(async () => []),
    recordRefund: jest.fn(async () => true),
    existingRefund: jest.fn(async () => undefined),
  };
  const pricing: PricingGateway = {
    quote: jest.fn(
      async (
        _c: string,
        lines: ReadonlyArray<{sku: string; quantity: number}>,
      ) => ({
        quoteId: 'q-1',
        lines: lines.map(l => ({
          sku: l.sku,
          quantity: l.quantity,
          unitPrice: usd('2.50'),
          lineTotal: usd('2.50').times(l.quantity),
        })),
        total: lines.reduce(
          (t, l) => t.plus(usd('2.50').times(l.quantity)),
          Money.zero('USD'),
        ),
      }),
    ),
  };
  const calls: string[] = [];
  const inventory: InventoryGateway = {
    reserve: jest.fn(async () => void calls.push('reserve')),
    commit: jest.fn(async () => void calls.push('commit')),
    release: jest.fn(async () => void calls.push('release')),
    restock: jest.fn(async () => undefined),
    reservationState: jest.fn(async () => undefined),
  };
  const paymentStates = new Map<string, 'captured' | 'declined' | 'refunded'>();
  const payment: PaymentGateway = {
    charge: jest.fn(async (paymentId: string) => {
      calls.push('charge');
      paymentStates.set(paymentId, 'captured');
      return {approved: true as const};
    }),
    void: jest.fn(async () => void calls.push('void')),
    refund: jest.fn(async (paymentId: string) => {
      calls.push('refund');
      paymentStates.set(paymentId, 'refunded');
    }),
    state: jest.fn(async (paymentId: string) => paymentStates.get(paymentId)),
  };
  const useCase = new PlaceOrder(
    store,
    pricing,
    inventory,
    payment,
    {now: () => new Date()},
    silent,
  );
  return {store, pricing, inventory, payment, calls, useCase};
}

const command = (requestId = 'req-1') => ({
  requestId,
  customerId: 'alice',
  currencyCode: 'USD',
  lines: [{sku: 'A', quantity: 2}],
  paymentToken: 'tok_visa',
});

describe('PlaceOrder', () => {
  it('runs the steps in order and charges the quoted total', async () => {
    const f = fakes();
    const order = await f.useCase.execute(command());
    expect(order.state).toBe('paid');
    expect(f.calls).toEqual(['reserve', 'charge', 'commit']);
    expect(f.payment.charge).toHaveBeenCalledWith(
      order.paymentId,
      order.id,
      usd('5.00'),
      'tok_visa',
    );
  });

  it('answers a repeated request with the same order and calls nothing again', async () => {
    const f = fakes();
    const first = await f.useCase.execute(command());
    const second = await f.useCase.execute(command());
    expect(second.id).toBe(first.id);
    expect(f.payment.charge).toHaveBeenCalledTimes(1);
  });

  it('refuses the same request id for another basket', async () => {
    const f = fakes();
    await f.useCase.execute(command());
    await expect(
      f.useCase.execute({...command(), lines: [{sku: 'A', quantity: 3}]}),
    ).rejects.toMatchObject({
      kind: 'already_exists',
    });
  });

  it('releases the stock and fails the order when the card is declined', async () => {
    const f = fakes();
    (
      f.payment.charge as jest.Mock<PaymentGateway['charge']>
    ).mockResolvedValueOnce({
      approved: false,
      declineCode: 'card_declined',
    });
    const order = await f.useCase.execute(command());
    expect(order.state).toBe('failed');
    expect(order.failureReason).toBe('payment_declined');
    expect(f.payment.charge).toHaveBeenCalledTimes(1);
    expect(f.payment.refund).not.toHaveBeenCalled();
    expect(f.calls).toEqual(['reserve', 'release']);
  });

  it('refunds and releases, in reverse order, when committing the stock fails', async () => {
    const f = fakes();
    (
      f.inventory.commit as jest.Mock<InventoryGateway['commit']>
    ).mockRejectedValueOnce(
      new DomainError('failed_precondition', 'reservation expired'),
    );
    const order = await f.useCase.execute(command());
    expect(order.state).toBe('failed');
    expect(f.inventory.commit).toHaveBeenCalledTimes(1);
    expect(f.calls).toEqual(['reserve', 'charge', 'refund', 'release']);
  });

  it('refunds a charge whose answer was lost', async () => {
    const f = fakes();
    (
      f.payment.charge as jest.Mock<PaymentGateway['charge']>
    ).mockImplementationOnce(async paymentId => {
      await f.payment.state(paymentId); // the provider took the money…
      f.calls.push('charge');
      (f.payment.state as jest.Mock<PaymentGateway['state']>).mockResolvedValue(
        'captured',
      );
      throw new UnavailableError('payment unavailable: deadline exceeded'); // …but the answer never came
    });
    const order = await f.useCase.execute(command());
    expect(order.state).toBe('failed');
    expect(order.failureReason).toBe('payment_error');
    expect(f.calls).toEqual(['reserve', 'charge', 'refund', 'release']);
  });

  it('rethrows out of stock and records the failed order for replay', async () => {
    const f = fakes();
    (
      f.inventory.reserve as jest.Mock<InventoryGateway['reserve']>
    ).mockRejectedValue(
      new StockShortageError(
        'out of stock: SKU A has 0 available, 2 requested',
      ),
    );
    await expect(f.useCase.execute(command())).rejects.toThrow('SKU A');
    await expect(f.useCase.execute(command())).rejects.toMatchObject({
      kind: 'failed_precondition',
    });
    expect(f.payment.charge).not.toHaveBeenCalled();
  });

  it('answers a SKU Inventory does not stock as out of stock, the same on replay', async () => {
    const f = fakes();
    (
      f.inventory.reserve as jest.Mock<InventoryGateway['reserve']>
    ).mockRejectedValue(new DomainError('not_found', 'SKU B is not stocked'));
    const first = f.useCase.execute(command());
    await expect(first).rejects.toBeInstanceOf(StockShortageError);
    await expect(first).rejects.toThrow('SKU B is not stocked');
    const replay = f.useCase.execute(command());
    await expect(replay).rejects.toBeInstanceOf(StockShortageError);
    await expect(replay).rejects.toThrow('SKU B is not stocked');
    expect(f.payment.charge).not.toHaveBeenCalled();
  });

  it('writes nothing when pricing does not know a SKU', async () => {
    const f = fakes();
    (
      f.pricing.quote as jest.Mock<PricingGateway['quote']>
    ).mockRejectedValueOnce(
      new DomainError('not_found', 'SKU X has no USD price'),
    );
    await expect(f.useCase.execute(command())).rejects.toThrow('SKU X');
    expect(f.store.insert).not.toHaveBeenCalled();
  });

  it('marks the order for recovery when an undo step keeps failing', async () => {
    const f = fakes();
    (
      f.payment.charge as jest.Mock<PaymentGateway['charge']>
    ).mockRejectedValueOnce(new UnavailableError('payment down'));
    (
      f.inventory.release as jest.Mock<InventoryGateway['release']>
    ).mockRejectedValue(new UnavailableError('inventory down'));
    const order = await f.useCase.execute(command());
    expect(order.state).toBe('failed');
    expect(order.failureReason).toBe('payment_error');
    expect(order.compensationPending).toBe(true);
  });
});
