import {Money} from '../../../common/money/money.js';
import {
  compareOrders,
  ledgerDiscrepancies,
  mirrorDiscrepancies,
  outboxDiscrepancies,
  type OrderComparison,
  type OrderFacts,
  type PaymentFacts,
  type ReservationFacts,
} from './reconciliation.js';

const now = new Date('2026-12-03T12:00:00Z');
const earlier = new Date('2026-12-03T11:00:00Z');
const usd = (a: string) => Money.parse(a, 'USD');

function order(p: Partial<OrderFacts> = {}): OrderFacts {
  return {
    id: 'o-1',
    state: 'paid',
    total: usd('30.00'),
    refunded: usd('0'),
    lines: [
      {sku: 'A', quantity: 2},
      {sku: 'B', quantity: 1},
    ],
    reservationId: 'r-1',
    pendingUndo: [],
    updatedAt: earlier,
    ...p,
  };
}

function payment(p: Partial<PaymentFacts> = {}): PaymentFacts {
  return {
    id: 'p-1',
    orderId: 'o-1',
    state: 'captured',
    amount: usd('30.00'),
    captured: usd('30.00'),
    refunded: usd('0'),
    updatedAt: earlier,
    ...p,
  };
}

function reservation(p: Partial<ReservationFacts> = {}): ReservationFacts {
  return {
    id: 'r-1',
    orderId: 'o-1',
    state: 'committed',
    lines: [
      {sku: 'A', warehouseId: 'main', quantity: 2},
      {sku: 'B', warehouseId: 'main', quantity: 1},
    ],
    expiresAt: new Date('2026-12-03T11:15:00Z'),
    updatedAt: earlier,
    ...p,
  };
}

function compare(c: Partial<OrderComparison>) {
  return compareOrders({
    orders: [order()],
    payments: [payment()],
    reservations: [reservation()],
    now,
    settleMs: 30_000,
    expiryGraceMs: 60_000,
    ...c,
  });
}

describe('compareOrders()', () => {
  it('finds no drift when a paid order has its capture and its committed units', () => {
    expect(compare({})).toEqual([]);
  });

  it('accepts a partly refunded order whose refunds match Payment’s', () => {
    expect(
      compare({
        orders: [order({state: 'partially_refunded', refunded: usd('10.00')})],
        payments: [payment({state: 'partially_refunded', refunded: usd('10')})],
      }),
    ).toEqual([]);
  });

  it('reports a paid order with nothing captured, and does not repair it', () => {
    const [d, ...rest] = compare({payments: []});
    expect(rest).toEqual([]);
    expect(d.kind).toBe('paid_without_capture');
    expect(d.orderId).toBe('o-1');
    expect(d.cause).toContain('nothing was captured');
    expect(d.repair).toBeUndefined();
  });

  it('reports captures net of refunds that differ from the order, to the cent', () => {
    const [d] = compare({payments: [payment({refunded: usd('0.01')})]});
    expect(d.kind).toBe('capture_mismatch');
    expect(d.cause).toContain('total net of refunds 30.00');
    expect(d.cause).toContain('captured net of refunds 29.99');
    expect(d.repair).toBeUndefined();
  });

  it('refunds what a FAILED order’s payment still holds net of refunds', () => {
    const [d, ...rest] = compare({
      orders: [order({state: 'failed'})],
      payments: [payment({state: 'partially_refunded', refunded: usd('5')})],
      reservations: [reservation({state: 'released'})],
    });
    expect(rest).toEqual([]);
    expect(d.kind).toBe('orphan_capture');
    expect(d.cause).toContain('order o-1 is FAILED');
    expect(d.repair).toEqual({
      action: 'refund',
      paymentId: 'p-1',
      amount: usd('25.00'),
    });
  });

  it('voids an authorization held for an order that does not exist', () => {
    const [d] = compare({
      orders: [],
      payments: [payment({orderId: 'ghost', state: 'authorized'})],
      reservations: [],
    });
    expect(d.kind).toBe('orphan_capture');
    expect(d.cause).toContain('order ghost does not exist');
    expect(d.repair).toEqual({action: 'void', paymentId: 'p-1'});
  });

  it('leaves a FAILED order whose undo steps are pending to recovery', () => {
    expect(
      compare({
        orders: [order({state: 'failed', pendingUndo: ['charge payment']})],
        reservations: [
          reservation({state: 'active', expiresAt: new Date('2026-12-04')}),
        ],
      }),
    ).toEqual([]);
  });

  it('leaves orders, payments and reservations changed within the settle time for the next pass', () => {
    const recent = new Date(now.getTime() - 1_000);
    expect(
      compare({orders: [order({updatedAt: recent})], payments: []}),
    ).toEqual([]);
    expect(
      compare({payments: [payment({captured: usd('1'), updatedAt: recent})]}),
    ).toEqual([]);
    expect(
      compare({
        orders: [],
        payments: [payment({orderId: 'ghost', updatedAt: recent})],
        reservations: [],
      }),
    ).toEqual([]);
  });

  it('never judges a payment whose outcome is still unknown', () => {
    expect(
      compare({
        orders: [order({state: 'failed'})],
        payments: [payment({state: 'pending', captured: usd('0')})],
        reservations: [reservation({state: 'released'})],
      }),
    ).toEqual([]);
  });

  it('releases an active reservation of a FAILED order', () => {
    const [d, ...rest] = compare({
      orders: [order({state: 'failed'})],
      payments: [payment({state: 'declined', captured: usd('0')})],
      reservations: [
        reservation({state: 'active', expiresAt: new Date('2026-12-04')}),
      ],
    });
    expect(rest).toEqual([]);
    expect(d.kind).toBe('orphan_reservation');
    expect(d.cause).toContain('2 × A, 1 × B');
    expect(d.repair).toEqual({action: 'release', reservationId: 'r-1'});
  });

  it('reports units sold that differ from the units committed, per SKU', () => {
    const found = compare({
      reservations: [
        reservation({lines: [{sku: 'A', warehouseId: 'main', quantity: 3}]}),
      ],
    });
    expect(found.map(d => [d.kind, d.sku])).toEqual([
      ['units_mismatch', 'A'],
      ['units_mismatch', 'B'],
    ]);
    expect(found[0].cause).toContain('sold 2 of A');
    expect(found[0].cause).toContain('committed 3');
  });

  it('reports a paid order whose reservation is not committed', () => {
    const [d] = compare({
      reservations: [reservation({state: 'expired'})],
    });
    expect(d.kind).toBe('units_mismatch');
    expect(d.cause).toContain('EXPIRED, not COMMITTED');
  });

  it('releases a reservation still active past its expiry and the grace', () => {
    const found = compare({
      orders: [],
      payments: [],
      reservations: [
        reservation({
          id: 'r-late',
          orderId: '',
          state: 'active',
          expiresAt: new Date(now.getTime() - 61_000),
        }),
        reservation({
          id: 'r-grace',
          orderId: '',
          state: 'active',
          expiresAt: new Date(now.getTime() - 59_000),
        }),
      ],
    });
    expect(found.map(d => [d.kind, d.reservationId])).toEqual([
      ['expired_reservation', 'r-late'],
    ]);
    expect(found[0].repair).toEqual({
      action: 'release',
      reservationId: 'r-late',
    });
  });
});

describe('ledgerDiscrepancies()', () => {
  it('reports each unbalanced transaction and a ledger that does not sum to zero', () => {
    const found = ledgerDiscrepancies({
      unbalanced: [
        {
          transactionId: '7',
          paymentId: 'p-1',
          orderId: 'o-1',
          kind: 'capture',
          sum: usd('-30.00'),
          postingCount: 2,
        },
      ],
      unbalancedCount: 3,
      totals: [usd('-30.00'), Money.zero('EUR')],
    });
    expect(found.map(d => d.cause)).toEqual([
      'ledger transaction 7 (capture of payment p-1) sums to -30.00, not zero',
      '2 more unbalanced ledger transaction(s) not listed',
      'the whole ledger sums to -30.00, not zero',
    ]);
    expect(found.every(d => d.kind === 'ledger_imbalance' && !d.repair)).toBe(
      true,
    );
  });

  it('finds nothing in a balanced ledger', () => {
    expect(
      ledgerDiscrepancies({
        unbalanced: [],
        unbalancedCount: 0,
        totals: [Money.zero('USD')],
      }),
    ).toEqual([]);
  });
});

describe('mirrorDiscrepancies()', () => {
  it('rebuilds each mismatched SKU once however many of its levels differ', () => {
    const found = mirrorDiscrepancies([
      {sku: 'A', warehouseId: 'main', cause: 'x'},
      {sku: 'A', warehouseId: '', cause: 'totals'},
      {sku: 'B', warehouseId: 'main', cause: 'y'},
    ]);
    expect(found.map(d => d.repair)).toEqual([
      {action: 'rebuild_mirror', sku: 'A'},
      undefined,
      {action: 'rebuild_mirror', sku: 'B'},
    ]);
    expect(found[0].cause).toBe('stock of A in main: x');
  });
});

describe('outboxDiscrepancies()', () => {
  it('reports only services whose oldest unpublished event is past the limit', () => {
    const found = outboxDiscrepancies(
      [
        {service: 'order', seconds: 0},
        {service: 'payment', seconds: 61},
      ],
      60,
    );
    expect(found.map(d => [d.kind, d.service])).toEqual([
      ['outbox_lag', 'payment'],
    ]);
  });
});
