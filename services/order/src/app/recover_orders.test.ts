import {createLogger} from '../../../common/log/logger.js';
import {Money} from '../../../common/money/money.js';
import {Order} from '../domain/order.js';
import {
  FakeInventory,
  FakePayment,
  InMemoryOrderStore,
} from './in_memory_fakes.js';
import {purchaseSteps} from './purchase_steps.js';
import {RecoverOrders, type RecoveryPolicy} from './recover_orders.js';

const usd = (a: string) => Money.parse(a, 'USD');
const silent = createLogger('test', 'error', () => {});

const policy: RecoveryPolicy = {
  ownerGoneMs: 5_000,
  abandonedAfterMs: 120_000,
  leaseMs: 60_000,
  batch: 50,
  backoffMs: 1_000,
  maxBackoffMs: 60_000,
  maxAttempts: 3,
  unknownOutcomeRetryMs: 2_000,
  unknownOutcomeMaxAttempts: 5,
  concurrency: 4,
};

function world() {
  let now = Date.parse('2026-12-10T10:00:00Z');
  const clock = {now: () => new Date(now)};
  const store = new InMemoryOrderStore('dead-process', () => now);
  store.liveOwners.clear(); // the process that placed these orders was killed
  const inventory = new FakeInventory();
  const payment = new FakePayment();
  const steps = purchaseSteps({inventory, payment, reservationTtlMs: 45_000});
  const parked: string[] = [];
  const recovery = () =>
    new RecoverOrders(store, steps, clock, silent, policy, o =>
      parked.push(o.id),
    );
  const pending = async (n: number) => {
    const orders: Order[] = [];
    for (let i = 0; i < n; i++) {
      const order = Order.place({
        id: `o-${i}`,
        requestId: `r-${i}`,
        customerId: 'alice',
        lines: [
          {
            sku: 'A',
            quantity: 1,
            unitPrice: usd('3.00'),
            lineTotal: usd('3.00'),
          },
        ],
        quoteId: 'q',
        paymentId: `p-${i}`,
        reservationId: `res-${i}`,
        fingerprint: 'fp',
        createdAt: new Date(now - 1_000 + i),
      });
      await store.insert(order);
      orders.push(order);
    }
    return orders;
  };
  return {
    store,
    inventory,
    payment,
    recovery,
    pending,
    parked,
    advance: (ms: number) => (now += ms),
  };
}

describe('RecoverOrders', () => {
  it('settles the sagas of a dead owner: rolls back the unpaid, rolls forward the committed', async () => {
    const w = world();
    const [a, b] = await w.pending(2);
    await w.inventory.reserve(b.reservationId, b.id, b.lines, 1);
    await w.payment.charge(b.paymentId, b.id, b.total);
    await w.inventory.commit(b.reservationId);
    expect(await w.recovery().execute()).toBe(2);
    expect((await w.store.find(a.id))?.state).toBe('failed');
    expect(w.payment.payments.get(a.paymentId)?.state).toBe('tombstone');
    expect((await w.store.find(b.id))?.state).toBe('paid');
    expect(w.payment.refunded(b.paymentId).isZero()).toBe(true);
  });

  it('leaves the sagas of a live owner to it', async () => {
    const w = world();
    await w.pending(1);
    w.store.liveOwners.add('dead-process');
    expect(await w.recovery().execute()).toBe(0);
  });

  it('recovery lease: two replicas passing at once never work the same order', async () => {
    const w = world();
    await w.pending(20);
    const [x, y] = await Promise.all([
      w.recovery().execute(),
      w.recovery().execute(),
    ]);
    expect(x + y).toBe(20);
    // Each order's payment voided exactly once.
    expect(w.payment.calls.filter(c => c === 'void')).toHaveLength(20);
  });

  it('overlap: a pass asked for while one runs joins it instead of starting another', async () => {
    const w = world();
    await w.pending(5);
    const r = w.recovery();
    const [x, y] = await Promise.all([r.execute(), r.execute()]);
    expect(x).toBe(5);
    expect(y).toBe(5); // the same pass's answer
    expect(w.payment.calls.filter(c => c === 'void')).toHaveLength(5);
  });

  it('back-off and parking: an order that keeps failing is retried later, then parked, and does not starve newer ones', async () => {
    const w = world();
    const [stuck] = await w.pending(1);
    w.inventory.down = true;
    const asked = () => w.inventory.calls.filter(c => c === 'state').length;
    const r = w.recovery();
    expect(await r.execute()).toBe(0); // attempt 1 fails
    expect(await r.execute()).toBe(0); // not due yet: nothing tried
    expect(asked()).toBe(1);
    w.advance(1_000);
    await r.execute(); // attempt 2
    w.advance(1_999);
    await r.execute(); // the back-off doubled: not due yet
    expect(asked()).toBe(2);
    w.advance(1);
    await r.execute(); // attempt 3: parked
    expect(w.parked).toEqual([stuck.id]);
    expect(await w.store.parkedCount()).toBe(1);
    w.inventory.down = false;
    w.advance(3_600_000);
    const calls = w.payment.calls.length;
    // A newer interrupted saga is settled; the parked one is not tried again.
    const newer = Order.place({
      ...stuck.snapshot(),
      id: 'newer',
      requestId: 'r-newer',
      paymentId: 'p-newer',
      reservationId: 'res-newer',
      createdAt: new Date(w.advance(0)),
    });
    await w.store.insert(newer);
    expect(await r.execute()).toBe(1);
    expect(w.payment.calls.slice(calls)).toEqual(['void']);
    expect((await w.store.find('newer'))?.state).toBe('failed');
  });

  it('retries an order whose payment outcome is unknown every 2 s past maxAttempts, and settles it once Payment answers', async () => {
    const w = world();
    const [waiting] = await w.pending(1);
    w.payment.payments.set(waiting.paymentId, {
      state: 'pending',
      captured: undefined,
      refunds: new Map(),
    });
    const voids = () => w.payment.calls.filter(c => c === 'void').length;
    const r = w.recovery();
    expect(await r.execute()).toBe(0); // attempt 1: outcome unknown
    w.advance(1_999);
    await r.execute();
    expect(voids()).toBe(1); // not due before the 2 s
    // Attempts 2 to 4, each 2 s after the last: no doubling, no parking at maxAttempts.
    for (let attempt = 2; attempt <= 4; attempt++) {
      w.advance(attempt === 2 ? 1 : 2_000);
      expect(await r.execute()).toBe(0);
      expect(voids()).toBe(attempt);
    }
    expect(w.parked).toEqual([]);
    w.payment.resolve(waiting.paymentId, undefined); // Payment: nothing was charged
    w.advance(2_000);
    expect(await r.execute()).toBe(1);
    expect((await w.store.find(waiting.id))?.state).toBe('failed');
  });

  it('parks an order whose payment outcome stays unknown after its own budget of attempts', async () => {
    const w = world();
    const [waiting] = await w.pending(1);
    w.payment.payments.set(waiting.paymentId, {
      state: 'pending',
      captured: undefined,
      refunds: new Map(),
    });
    const r = w.recovery();
    for (let attempt = 1; attempt <= 5; attempt++) {
      await r.execute();
      w.advance(2_000);
    }
    expect(w.parked).toEqual([waiting.id]);
    expect(w.payment.calls.filter(c => c === 'void')).toHaveLength(5);
  });
});
