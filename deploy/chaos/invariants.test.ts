import {
  capturesMatchOrders,
  checkInvariants,
  EXPIRY_GRACE_MS,
  ledgerBalances,
  mirrorMatches,
  noPendingOrders,
  outboxDrained,
  reconcileClean,
  reservationsSettled,
  unitsMatch,
  type Snapshot,
} from './invariants.js';

const NOW = new Date('2026-12-03T12:00:00Z');

/** A consistent system: one paid order (2 × A), one failed order, one cancelled. */
function healthy(): Snapshot {
  return {
    now: NOW,
    orders: [
      {
        orderId: 'o1',
        state: 'paid',
        total: '20.00',
        refunded: '0',
        lines: [{sku: 'A', quantity: 2}],
      },
      {
        orderId: 'o2',
        state: 'failed',
        total: '10.00',
        refunded: '0',
        lines: [{sku: 'A', quantity: 1}],
      },
      {
        orderId: 'o3',
        state: 'cancelled',
        total: '10.00',
        refunded: '10.00',
        lines: [{sku: 'B', quantity: 1}],
      },
    ],
    payments: [
      {
        paymentId: 'p1',
        orderId: 'o1',
        state: 'captured',
        captured: '20.0000',
        refunded: '0',
      },
      {
        paymentId: 'p2',
        orderId: 'o2',
        state: 'declined',
        captured: '0',
        refunded: '0',
      },
      {
        paymentId: 'p3',
        orderId: 'o3',
        state: 'refunded',
        captured: '10.00',
        refunded: '10.00',
      },
    ],
    reservations: [
      {
        reservationId: 'r1',
        orderId: 'o1',
        state: 'committed',
        expiresAt: NOW,
        lines: [{sku: 'A', quantity: 2}],
      },
      {
        reservationId: 'r2',
        orderId: 'o2',
        state: 'released',
        expiresAt: NOW,
        lines: [{sku: 'A', quantity: 1}],
      },
      {
        reservationId: 'r3',
        orderId: 'o3',
        state: 'committed',
        expiresAt: NOW,
        lines: [{sku: 'B', quantity: 1}],
      },
    ],
    stock: [
      {sku: 'A', onHand: 98, reserved: 0, adjusted: 100},
      // 100 in, 1 sold, 1 returned by the cancellation.
      {sku: 'B', onHand: 100, reserved: 0, adjusted: 101},
    ],
    mirror: [
      {sku: 'A', onHand: 98, reserved: 0, available: 98},
      {sku: 'B', onHand: 100, reserved: 0, available: 100},
    ],
    ledgerTotals: [{currency: 'USD', sum: '0.0000'}],
    unbalancedLedgerTransactions: [],
    outbox: {ordering: 0, payment: 0},
    reconcile: undefined,
  };
}

describe('chaos invariants', () => {
  it('all hold on a consistent system, and Reconcile is skipped while absent', () => {
    const results = checkInvariants(healthy());
    expect(results.filter(r => !r.holds)).toEqual([]);
    expect(results.map(r => r.name)).not.toContain(
      'Reconcile RPC reports zero drift',
    );
  });

  it('reports a PENDING order', () => {
    const s = healthy();
    s.orders[0].state = 'pending';
    const r = noPendingOrders(s);
    expect(r.holds).toBe(false);
    expect(r.bad).toEqual(['order o1 pending']);
  });

  it('reports a capture left on a FAILED order and a paid order captured short', () => {
    const s = healthy();
    s.payments[1] = {...s.payments[1], state: 'captured', captured: '10.00'};
    s.payments[0] = {...s.payments[0], captured: '19.99'};
    const r = capturesMatchOrders(s);
    expect(r.holds).toBe(false);
    expect(r.bad).toEqual([
      'order o1 paid: captured net 19.99, expected 20.00',
      'order o2 failed: captured net 10.00, expected 0.00',
    ]);
  });

  it('accepts a partial refund and reports a capture with no order', () => {
    const s = healthy();
    s.orders[0] = {...s.orders[0], state: 'partially_refunded', refunded: '1'};
    s.payments[0] = {...s.payments[0], refunded: '1.00'};
    expect(capturesMatchOrders(s).holds).toBe(true);
    s.payments.push({
      paymentId: 'p9',
      orderId: 'ghost',
      state: 'captured',
      captured: '5',
      refunded: '0',
    });
    expect(capturesMatchOrders(s).bad).toEqual([
      'payment for unknown order ghost: captured net 5',
    ]);
  });

  it('reports a ledger that does not sum to zero', () => {
    const s = healthy();
    s.ledgerTotals = [{currency: 'USD', sum: '-3.5000'}];
    s.unbalancedLedgerTransactions = ['42'];
    expect(ledgerBalances(s).bad).toEqual([
      'USD postings sum to -3.5000',
      'ledger transaction 42 unbalanced',
    ]);
  });

  it('allows the sweeper its grace, then reports an overdue reservation and one held for a FAILED order', () => {
    const s = healthy();
    s.reservations[1] = {
      ...s.reservations[1],
      state: 'active',
      expiresAt: new Date(NOW.getTime() - EXPIRY_GRACE_MS + 1),
    };
    expect(reservationsSettled(s).bad).toEqual([
      'reservation r2 active for FAILED order o2',
    ]);
    s.reservations[1].expiresAt = new Date(NOW.getTime() - 10_000);
    expect(reservationsSettled(s).bad).toEqual([
      'reservation r2 active 10 s past its expiry',
      'reservation r2 active for FAILED order o2',
    ]);
  });

  it('reports a Redis level that differs, a missing key, and an unreadable Redis', () => {
    const s = healthy();
    s.mirror = [{sku: 'A', onHand: 97, reserved: 0, available: 97}];
    expect(mirrorMatches(s).bad).toEqual([
      'A: PostgreSQL on_hand/reserved/available 98/0/98, Redis 97/0/97',
      'B: PostgreSQL on_hand/reserved/available 100/0/100, Redis missing',
    ]);
    s.mirror = undefined;
    expect(mirrorMatches(s).holds).toBe(false);
  });

  it('reports a committed reservation whose order never became PAID', () => {
    const s = healthy();
    s.orders[0].state = 'pending';
    const r = unitsMatch(s);
    expect(r.holds).toBe(false);
    expect(r.bad).toEqual(['A: 0 units sold, 2 in committed reservations']);
  });

  it('reports stock levels that disagree with adjustments and reservations', () => {
    const s = healthy();
    s.stock[0] = {sku: 'A', onHand: 99, reserved: 3, adjusted: 100};
    expect(unitsMatch(s).bad).toEqual([
      'A: on hand 99, adjustments 100 − committed 2 = 98',
      'A: reserved 3, active reservations hold 0',
    ]);
  });

  it('reports rows left in an outbox', () => {
    const s = healthy();
    s.outbox.payment = 3;
    expect(outboxDrained(s).bad).toEqual(['payment.outbox holds 3 rows']);
  });

  it('requires zero drift from Reconcile once it exists', () => {
    const s = healthy();
    s.reconcile = {drift: 0, details: []};
    expect(reconcileClean(s)?.holds).toBe(true);
    s.reconcile = {drift: 2, details: ['orphan capture p9', 'mirror A']};
    expect(reconcileClean(s)?.bad).toEqual(['orphan capture p9', 'mirror A']);
  });
});
