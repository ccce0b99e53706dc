/**
 * The invariants the chaos suite requires after every fault, as pure functions of a
 * snapshot of the system (snapshot.ts reads it from PostgreSQL, Redis and the Order
 * service), so each rule is tested on plain data.
 */
import {Decimal} from 'decimal.js';

export interface Line {
  sku: string;
  quantity: number;
}

export interface OrderRow {
  orderId: string;
  state: string;
  total: string;
  refunded: string;
  lines: Line[];
}

export interface PaymentRow {
  paymentId: string;
  orderId: string;
  state: string;
  captured: string;
  refunded: string;
}

export interface ReservationRow {
  reservationId: string;
  orderId: string;
  state: string;
  expiresAt: Date;
  lines: Line[];
}

export interface StockRow {
  sku: string;
  /** Summed over warehouses. */
  onHand: number;
  reserved: number;
  /** Sum of every stock adjustment's delta (restocks, returns…). */
  adjusted: number;
}

export interface MirrorRow {
  sku: string;
  onHand: number | undefined;
  reserved: number | undefined;
  available: number | undefined;
}

export interface ReconcileResult {
  /** Discrepancies the Order service's Reconcile RPC reported. */
  drift: number;
  details: string[];
}

export interface Snapshot {
  now: Date;
  orders: OrderRow[];
  payments: PaymentRow[];
  reservations: ReservationRow[];
  stock: StockRow[];
  /** undefined: Redis could not be read. */
  mirror: MirrorRow[] | undefined;
  /** Sum of all ledger postings per currency. */
  ledgerTotals: Array<{currency: string; sum: string}>;
  /** Ledger transactions whose postings do not sum to zero in some currency. */
  unbalancedLedgerTransactions: string[];
  /** Rows still waiting in each schema's outbox. */
  outbox: Record<string, number>;
  /** undefined: the Order service has no Reconcile RPC (yet). */
  reconcile: ReconcileResult | undefined;
}

export interface InvariantResult {
  name: string;
  holds: boolean;
  /** What was found: counts when it holds, the offending rows (a few) when not. */
  details: string;
  /** Every offending item, one line each (empty when it holds). */
  bad: string[];
}

/** States of an order whose stock was committed and money captured (before refunds). */
export const SOLD_STATES = new Set([
  'paid',
  'partially_refunded',
  'refunded',
  'cancelled',
]);

/** How long past its expiry an active reservation may wait for the sweeper (1 s period). */
export const EXPIRY_GRACE_MS = 2_000;

const MAX_LISTED = 5;

function listed(items: string[]): string {
  const head = items.slice(0, MAX_LISTED).join('; ');
  return items.length > MAX_LISTED
    ? `${head}; … ${items.length - MAX_LISTED} more`
    : head;
}

function result(name: string, bad: string[], ok: string): InvariantResult {
  return bad.length === 0
    ? {name, holds: true, details: ok, bad}
    : {name, holds: false, details: `${bad.length}: ${listed(bad)}`, bad};
}

export function noPendingOrders(s: Snapshot): InvariantResult {
  const pending = s.orders.filter(o => o.state === 'pending');
  const byState = countBy(s.orders.map(o => o.state));
  return result(
    'every order settled (none PENDING)',
    pending.map(o => `order ${o.orderId} pending`),
    `${s.orders.length} orders ${formatCounts(byState)}`,
  );
}

/**
 * A sold order's captures net of refunds equal its total less what it refunded (its
 * total while PAID); an order that never sold, or no order at all, holds nothing.
 */
export function capturesMatchOrders(s: Snapshot): InvariantResult {
  const net = new Map<string, Decimal>();
  for (const p of s.payments) {
    const n = new Decimal(p.captured).minus(p.refunded);
    net.set(p.orderId, (net.get(p.orderId) ?? new Decimal(0)).plus(n));
  }
  const bad: string[] = [];
  const known = new Set<string>();
  for (const o of s.orders) {
    known.add(o.orderId);
    const held = net.get(o.orderId) ?? new Decimal(0);
    if (o.state === 'pending') continue; // reported by noPendingOrders
    const expected = SOLD_STATES.has(o.state)
      ? new Decimal(o.total).minus(o.refunded)
      : new Decimal(0);
    if (!held.equals(expected)) {
      bad.push(
        `order ${o.orderId} ${o.state}: captured net ${held.toFixed(2)}, expected ${expected.toFixed(2)}`,
      );
    }
  }
  for (const [orderId, held] of net) {
    if (!known.has(orderId) && !held.isZero())
      bad.push(`payment for unknown order ${orderId}: captured net ${held}`);
  }
  const captured = s.payments.filter(p => !new Decimal(p.captured).isZero());
  return result(
    'captures net of refunds = order totals; no unrefunded capture for a FAILED order',
    bad,
    `${captured.length} captured payments over ${s.orders.length} orders`,
  );
}

export function ledgerBalances(s: Snapshot): InvariantResult {
  const bad = s.ledgerTotals
    .filter(t => !new Decimal(t.sum).isZero())
    .map(t => `${t.currency} postings sum to ${t.sum}`);
  bad.push(
    ...s.unbalancedLedgerTransactions.map(
      id => `ledger transaction ${id} unbalanced`,
    ),
  );
  return result(
    'payment ledger sums to zero',
    bad,
    s.ledgerTotals.length === 0
      ? 'no postings'
      : s.ledgerTotals.map(t => `${t.currency} ${t.sum}`).join(', '),
  );
}

export function reservationsSettled(s: Snapshot): InvariantResult {
  const state = new Map(s.orders.map(o => [o.orderId, o.state]));
  const bad: string[] = [];
  let active = 0;
  for (const r of s.reservations) {
    if (r.state !== 'active') continue;
    active++;
    const overdueMs = s.now.getTime() - r.expiresAt.getTime();
    if (overdueMs > EXPIRY_GRACE_MS)
      bad.push(
        `reservation ${r.reservationId} active ${Math.round(overdueMs / 1000)} s past its expiry`,
      );
    const orderState = state.get(r.orderId);
    if (orderState === 'failed')
      bad.push(
        `reservation ${r.reservationId} active for FAILED order ${r.orderId}`,
      );
    else if (orderState !== undefined && SOLD_STATES.has(orderState))
      bad.push(
        `reservation ${r.reservationId} still active for ${orderState} order ${r.orderId}`,
      );
  }
  return result(
    'no active reservation past its expiry or for a settled order',
    bad,
    `${active} active reservations`,
  );
}

export function mirrorMatches(s: Snapshot): InvariantResult {
  const name = 'Redis stock = PostgreSQL stock per SKU';
  if (s.mirror === undefined)
    return {
      name,
      holds: false,
      details: 'Redis could not be read',
      bad: ['Redis could not be read'],
    };
  const mirror = new Map(s.mirror.map(m => [m.sku, m]));
  const bad: string[] = [];
  for (const st of s.stock) {
    const m = mirror.get(st.sku);
    const pg = `${st.onHand}/${st.reserved}/${st.onHand - st.reserved}`;
    const rd = m ? `${m.onHand}/${m.reserved}/${m.available}` : 'missing';
    if (pg !== rd)
      bad.push(
        `${st.sku}: PostgreSQL on_hand/reserved/available ${pg}, Redis ${rd}`,
      );
  }
  return result(name, bad, `${s.stock.length} SKUs equal`);
}

/**
 * Per SKU: units in sold orders = units in committed reservations; on hand = what was
 * adjusted in less what was committed; reserved = units in active reservations.
 */
export function unitsMatch(s: Snapshot): InvariantResult {
  const sold = sumLines(s.orders.filter(o => SOLD_STATES.has(o.state)));
  const committed = sumLines(
    s.reservations.filter(r => r.state === 'committed'),
  );
  const active = sumLines(s.reservations.filter(r => r.state === 'active'));
  const bad: string[] = [];
  const skus = new Set([
    ...sold.keys(),
    ...committed.keys(),
    ...s.stock.map(x => x.sku),
  ]);
  const stock = new Map(s.stock.map(x => [x.sku, x]));
  let units = 0;
  for (const sku of [...skus].sort()) {
    const so = sold.get(sku) ?? 0;
    const co = committed.get(sku) ?? 0;
    units += so;
    if (so !== co)
      bad.push(`${sku}: ${so} units sold, ${co} in committed reservations`);
    const st = stock.get(sku);
    if (st === undefined) continue;
    if (st.onHand !== st.adjusted - co)
      bad.push(
        `${sku}: on hand ${st.onHand}, adjustments ${st.adjusted} − committed ${co} = ${st.adjusted - co}`,
      );
    const ac = active.get(sku) ?? 0;
    if (st.reserved !== ac)
      bad.push(
        `${sku}: reserved ${st.reserved}, active reservations hold ${ac}`,
      );
  }
  return result(
    'units sold = committed reservations (and stock levels agree)',
    bad,
    `${units} units sold`,
  );
}

export function outboxDrained(s: Snapshot): InvariantResult {
  const bad = Object.entries(s.outbox)
    .filter(([, n]) => n > 0)
    .map(([schema, n]) => `${schema}.outbox holds ${n} rows`);
  return result('outbox drained', bad, 'every outbox empty');
}

export function reconcileClean(s: Snapshot): InvariantResult | undefined {
  if (s.reconcile === undefined) return undefined;
  return result(
    'Reconcile RPC reports zero drift',
    s.reconcile.drift === 0 ? [] : s.reconcile.details,
    'no drift',
  );
}

/** Every invariant, in the order they are printed. */
export function checkInvariants(s: Snapshot): InvariantResult[] {
  const all = [
    noPendingOrders(s),
    capturesMatchOrders(s),
    ledgerBalances(s),
    reservationsSettled(s),
    mirrorMatches(s),
    unitsMatch(s),
    outboxDrained(s),
    reconcileClean(s),
  ];
  return all.filter((r): r is InvariantResult => r !== undefined);
}

function sumLines(rows: Array<{lines: Line[]}>): Map<string, number> {
  const out = new Map<string, number>();
  for (const row of rows)
    for (const l of row.lines)
      out.set(l.sku, (out.get(l.sku) ?? 0) + l.quantity);
  return out;
}

export function countBy(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

/** `{OK: 3, UNAVAILABLE: 1}` as "OK 3, UNAVAILABLE 1" (largest first). */
export function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return entries.length === 0
    ? '(none)'
    : entries.map(([k, n]) => `${k} ${n}`).join(', ');
}
