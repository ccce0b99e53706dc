/**
 * Reconciliation: where orders, payments, reservations, the Redis mirror, the ledger and
 * the outboxes disagree, and which disagreements are safe to repair. Pure: the caller
 * gathers the facts from each owner (Order's own store, Payment and Inventory by RPC)
 * and carries out the repairs.
 *
 * What is safe to repair is what gives money or stock back for something that did not
 * happen (a capture or a hold for an order that FAILED or does not exist, stock held for
 * such an order or past its lease) and rebuilding a cache from its truth. What takes
 * money or decides a sale (a paid order without a capture, a ledger that does not
 * balance) is only reported: an operator must look.
 */
import {Money} from '../../../common/money/money.js';
import type {OrderState} from './order.js';

export type DriftKind =
  | 'orphan_capture'
  | 'paid_without_capture'
  | 'capture_mismatch'
  | 'units_mismatch'
  | 'orphan_reservation'
  | 'expired_reservation'
  | 'mirror_mismatch'
  | 'ledger_imbalance'
  | 'outbox_lag';

export const DRIFT_KINDS: readonly DriftKind[] = [
  'orphan_capture',
  'paid_without_capture',
  'capture_mismatch',
  'units_mismatch',
  'orphan_reservation',
  'expired_reservation',
  'mirror_mismatch',
  'ledger_imbalance',
  'outbox_lag',
];

/** The repair of a safe discrepancy, for the caller to carry out. */
export type RepairAction =
  | {action: 'refund'; paymentId: string; amount: Money}
  | {action: 'void'; paymentId: string}
  | {action: 'release'; reservationId: string}
  | {action: 'rebuild_mirror'; sku: string};

export interface Discrepancy {
  kind: DriftKind;
  /** What was found, with the amounts or units on each side. */
  cause: string;
  orderId?: string;
  paymentId?: string;
  reservationId?: string;
  sku?: string;
  warehouseId?: string;
  ledgerTransactionId?: string;
  service?: string;
  /** Set for the safe kinds only. */
  repair?: RepairAction;
}

/** What reconciliation needs to know of an order (an OrderSnapshot fits). */
export interface OrderFacts {
  readonly id: string;
  readonly state: OrderState;
  readonly total: Money;
  readonly refunded: Money;
  readonly lines: ReadonlyArray<{
    readonly sku: string;
    readonly quantity: number;
  }>;
  readonly reservationId: string;
  /** Undo steps the saga still has to retry: recovery owns the order until done. */
  readonly pendingUndo: readonly string[];
  readonly updatedAt: Date;
}

export type PaymentFactState =
  | 'pending'
  | 'authorized'
  | 'declined'
  | 'captured'
  | 'voided'
  | 'partially_refunded'
  | 'refunded';

export interface PaymentFacts {
  readonly id: string;
  readonly orderId: string;
  readonly state: PaymentFactState;
  readonly amount: Money;
  readonly captured: Money;
  readonly refunded: Money;
  readonly updatedAt: Date;
}

export interface ReservationFacts {
  readonly id: string;
  readonly orderId: string;
  readonly state: 'active' | 'committed' | 'released' | 'expired';
  readonly lines: ReadonlyArray<{
    readonly sku: string;
    readonly warehouseId: string;
    readonly quantity: number;
  }>;
  readonly expiresAt: Date;
  readonly updatedAt: Date;
}

export interface OrderComparison {
  orders: readonly OrderFacts[];
  payments: readonly PaymentFacts[];
  reservations: readonly ReservationFacts[];
  now: Date;
  /**
   * Anything changed this recently is left for the next pass: the facts come from three
   * services read one after the other, so a sale in progress would look like drift.
   */
  settleMs: number;
  /** How long past its expiry an active reservation may wait for Inventory's sweeper. */
  expiryGraceMs: number;
}

const SOLD: readonly OrderState[] = [
  'paid',
  'partially_refunded',
  'refunded',
  'cancelled',
];

/** Captured net of refunds: what the customer has paid for the order through `p`. */
function netCaptured(p: PaymentFacts): Money {
  return p.captured.minus(p.refunded);
}

/**
 * Compares orders with their payments and reservations: captures net of refunds per
 * order, units sold per order and SKU, and active reservations with their order and
 * expiry. Payments and reservations of an order are judged only once the order and all
 * of them have settled (see `settleMs`), and orders still in their saga or with undo
 * steps pending are left to the saga and recovery.
 */
export function compareOrders(c: OrderComparison): Discrepancy[] {
  const settledBefore = c.now.getTime() - c.settleMs;
  const settled = (at: Date) => at.getTime() < settledBefore;
  const orders = new Map(c.orders.map(o => [o.id, o]));
  const paymentsOf = groupBy(c.payments, p => p.orderId);
  const reservationsOf = groupBy(c.reservations, r => r.orderId);
  const found: Discrepancy[] = [];

  for (const o of c.orders) {
    const payments = paymentsOf.get(o.id) ?? [];
    const reservations = reservationsOf.get(o.id) ?? [];
    const inFlight =
      o.state === 'pending' ||
      o.pendingUndo.length > 0 ||
      !settled(o.updatedAt) ||
      payments.some(p => p.state === 'pending' || !settled(p.updatedAt)) ||
      reservations.some(r => !settled(r.updatedAt));
    if (inFlight) continue;
    if (SOLD.includes(o.state)) {
      found.push(...comparePayments(o, payments));
      found.push(...compareUnits(o, reservations));
    } else {
      found.push(
        ...orphanPayments(
          payments,
          `order ${o.id} is ${o.state.toUpperCase()}`,
        ),
      );
      found.push(
        ...orphanReservations(
          reservations,
          `order ${o.id} is ${o.state.toUpperCase()}`,
        ),
      );
      for (const r of reservations.filter(r => r.state === 'committed')) {
        found.push({
          kind: 'units_mismatch',
          cause: `reservation ${r.id} took ${unitsText(r)} out of stock for order ${o.id}, which is ${o.state.toUpperCase()}`,
          orderId: o.id,
          reservationId: r.id,
        });
      }
    }
  }

  // Payments and reservations whose order does not exist. Order writes the order before
  // it reserves or charges, so after settling these belong to no sale.
  for (const [orderId, payments] of paymentsOf) {
    if (orders.has(orderId)) continue;
    found.push(
      ...orphanPayments(
        payments.filter(p => settled(p.updatedAt)),
        `order ${orderId} does not exist`,
      ),
    );
  }
  for (const [orderId, reservations] of reservationsOf) {
    // Reservations without an order id are an operator's own holds.
    if (!orderId || orders.has(orderId)) continue;
    found.push(
      ...orphanReservations(
        reservations.filter(r => settled(r.updatedAt)),
        `order ${orderId} does not exist`,
      ),
    );
  }

  // Active past expiry and grace: the sweeper should have released it long ago.
  const orphaned = new Set(found.map(d => d.reservationId).filter(Boolean));
  for (const r of c.reservations) {
    if (r.state !== 'active' || orphaned.has(r.id)) continue;
    const overdueMs = c.now.getTime() - r.expiresAt.getTime();
    if (overdueMs <= c.expiryGraceMs) continue;
    found.push({
      kind: 'expired_reservation',
      cause: `reservation ${r.id} is still ACTIVE ${Math.round(overdueMs / 1000)} s after it expired at ${r.expiresAt.toISOString()}`,
      orderId: r.orderId || undefined,
      reservationId: r.id,
      repair: {action: 'release', reservationId: r.id},
    });
  }
  return found;
}

function comparePayments(
  o: OrderFacts,
  payments: readonly PaymentFacts[],
): Discrepancy[] {
  const currency = o.total.currencyCode;
  const expected = o.total.minus(o.refunded);
  const other = payments.find(p => p.captured.currencyCode !== currency);
  if (other) {
    return [
      {
        kind: 'capture_mismatch',
        cause: `order ${o.id} is in ${currency}, payment ${other.id} in ${other.captured.currencyCode}`,
        orderId: o.id,
        paymentId: other.id,
      },
    ];
  }
  const net = payments.reduce(
    (sum, p) => sum.plus(netCaptured(p)),
    Money.zero(currency),
  );
  const captured = payments.reduce(
    (sum, p) => sum.plus(p.captured),
    Money.zero(currency),
  );
  if (captured.isZero() && !o.total.isZero()) {
    return [
      {
        kind: 'paid_without_capture',
        cause: `order ${o.id} is ${o.state.toUpperCase()} for ${o.total.toString()} but nothing was captured (${payments.length} payment(s))`,
        orderId: o.id,
        paymentId: payments[0]?.id,
      },
    ];
  }
  if (net.equals(expected)) return [];
  return [
    {
      kind: 'capture_mismatch',
      cause: `order ${o.id} is ${o.state.toUpperCase()}: total net of refunds ${expected.toString()}, captured net of refunds ${net.toString()}`,
      orderId: o.id,
      paymentId: payments[0]?.id,
    },
  ];
}

function compareUnits(
  o: OrderFacts,
  reservations: readonly ReservationFacts[],
): Discrepancy[] {
  const at = {orderId: o.id, reservationId: o.reservationId};
  const r = reservations.find(x => x.id === o.reservationId);
  if (!r) {
    return [
      {
        kind: 'units_mismatch',
        cause: `order ${o.id} is ${o.state.toUpperCase()} but its reservation ${o.reservationId} does not exist`,
        ...at,
      },
    ];
  }
  if (r.state !== 'committed') {
    return [
      {
        kind: 'units_mismatch',
        cause: `order ${o.id} is ${o.state.toUpperCase()} but its reservation ${r.id} is ${r.state.toUpperCase()}, not COMMITTED`,
        ...at,
      },
    ];
  }
  const sold = sumBySku(o.lines);
  const committed = sumBySku(r.lines);
  const found: Discrepancy[] = [];
  for (const sku of [
    ...new Set([...sold.keys(), ...committed.keys()]),
  ].sort()) {
    const s = sold.get(sku) ?? 0;
    const k = committed.get(sku) ?? 0;
    if (s === k) continue;
    found.push({
      kind: 'units_mismatch',
      cause: `order ${o.id} sold ${s} of ${sku}; its reservation ${r.id} committed ${k}`,
      ...at,
      sku,
    });
  }
  return found;
}

function orphanPayments(
  payments: readonly PaymentFacts[],
  why: string,
): Discrepancy[] {
  const found: Discrepancy[] = [];
  for (const p of payments) {
    const net = netCaptured(p);
    const at = {orderId: p.orderId, paymentId: p.id};
    if (p.state === 'authorized') {
      found.push({
        kind: 'orphan_capture',
        cause: `payment ${p.id} holds ${p.amount.toString()} (AUTHORIZED) but ${why}`,
        ...at,
        repair: {action: 'void', paymentId: p.id},
      });
    } else if (net.compare(Money.zero(net.currencyCode)) > 0) {
      found.push({
        kind: 'orphan_capture',
        cause: `payment ${p.id} captured ${net.toString()} net of refunds but ${why}`,
        ...at,
        repair: {action: 'refund', paymentId: p.id, amount: net},
      });
    }
  }
  return found;
}

function orphanReservations(
  reservations: readonly ReservationFacts[],
  why: string,
): Discrepancy[] {
  return reservations
    .filter(r => r.state === 'active')
    .map(r => ({
      kind: 'orphan_reservation' as const,
      cause: `reservation ${r.id} still holds ${unitsText(r)} but ${why}`,
      orderId: r.orderId,
      reservationId: r.id,
      repair: {action: 'release' as const, reservationId: r.id},
    }));
}

/** A stock level whose mirror differs, as Inventory's check reports it. */
export interface MirrorMismatchFacts {
  sku: string;
  warehouseId: string;
  cause: string;
}

/** One discrepancy per mismatched level; each SKU's mirror is rebuilt once. */
export function mirrorDiscrepancies(
  mismatches: readonly MirrorMismatchFacts[],
): Discrepancy[] {
  const seen = new Set<string>();
  return mismatches.map(m => {
    const first = !seen.has(m.sku);
    seen.add(m.sku);
    return {
      kind: 'mirror_mismatch',
      cause: `stock of ${m.sku}${m.warehouseId ? ` in ${m.warehouseId}` : ''}: ${m.cause}`,
      sku: m.sku,
      warehouseId: m.warehouseId || undefined,
      ...(first ? {repair: {action: 'rebuild_mirror', sku: m.sku}} : {}),
    };
  });
}

/** What Payment's ledger check reports. */
export interface LedgerFacts {
  unbalanced: ReadonlyArray<{
    transactionId: string;
    paymentId: string;
    orderId: string;
    kind: string;
    sum: Money | undefined;
    postingCount: number;
  }>;
  unbalancedCount: number;
  totals: readonly Money[];
}

/** Each transaction that breaks double entry, and each currency the ledger is off in. */
export function ledgerDiscrepancies(l: LedgerFacts): Discrepancy[] {
  const found: Discrepancy[] = l.unbalanced.map(t => ({
    kind: 'ledger_imbalance',
    cause:
      t.postingCount < 2
        ? `ledger transaction ${t.transactionId} (${t.kind} of payment ${t.paymentId}) has ${t.postingCount} posting(s), fewer than two`
        : `ledger transaction ${t.transactionId} (${t.kind} of payment ${t.paymentId}) sums to ${t.sum?.toString() ?? '?'}, not zero`,
    orderId: t.orderId || undefined,
    paymentId: t.paymentId || undefined,
    ledgerTransactionId: t.transactionId,
  }));
  const unlisted = l.unbalancedCount - l.unbalanced.length;
  if (unlisted > 0) {
    found.push({
      kind: 'ledger_imbalance',
      cause: `${unlisted} more unbalanced ledger transaction(s) not listed`,
    });
  }
  for (const total of l.totals.filter(t => !t.isZero())) {
    found.push({
      kind: 'ledger_imbalance',
      cause: `the whole ledger sums to ${total.toString()}, not zero`,
    });
  }
  return found;
}

/** A service whose oldest unpublished event is older than `limitSeconds`. */
export function outboxDiscrepancies(
  lags: ReadonlyArray<{service: string; seconds: number}>,
  limitSeconds: number,
): Discrepancy[] {
  return lags
    .filter(l => l.seconds > limitSeconds)
    .map(l => ({
      kind: 'outbox_lag',
      cause: `${l.service}'s oldest unpublished event is ${Math.round(l.seconds)} s old (limit ${limitSeconds} s)`,
      service: l.service,
    }));
}

function groupBy<T>(items: readonly T[], key: (t: T) => string) {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
}

function sumBySku(
  lines: ReadonlyArray<{sku: string; quantity: number}>,
): Map<string, number> {
  const sums = new Map<string, number>();
  for (const l of lines) sums.set(l.sku, (sums.get(l.sku) ?? 0) + l.quantity);
  return sums;
}

function unitsText(r: ReservationFacts): string {
  return r.lines.map(l => `${l.quantity} × ${l.sku}`).join(', ');
}
