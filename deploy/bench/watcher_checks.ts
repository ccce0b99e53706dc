/**
 * What each watcher of `npm run bench:watchers` was entitled to, against what it got.
 *
 * The truths never come through the stream under test: paid and failed orders, price
 * changes and low-stock alerts from PostgreSQL, stock changes from the bench's own
 * subscription to Inventory's Redis channel. A watcher is entitled to what happened
 * after it opened (stock: after the version of its snapshot). Events are compared as
 * multisets of keys; orders and alerts are delivered at least once (each event has an
 * id to drop duplicates by), so a repeat there is counted apart, not as an extra.
 */
import {fromBinary} from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import {LowStockAlertState} from '../../gen/agora/inventory/v1/inventory_events_pb.js';
import {
  WatchLowStockAlertsResponseSchema,
  WatchStockResponseSchema,
} from '../../gen/agora/inventory/v1/inventory_service_pb.js';
import {OrderEventType} from '../../gen/agora/order/v1/order_events_pb.js';
import {WatchOrderEventsResponseSchema} from '../../gen/agora/order/v1/order_service_pb.js';
import {WatchPricesResponseSchema} from '../../gen/agora/pricing/v1/pricing_service_pb.js';
import type {StreamKind, Watcher} from './watcher_pool.js';

/** The truths, loaded after the run. */
export interface Truth {
  /** Finished orders by customer id. */
  orders: Map<
    string,
    Array<{orderId: string; paid: boolean; createdAt: number}>
  >;
  /** Versions published on `<ns>:stock-changes`, by SKU, in publication order. */
  stock: Map<string, number[]>;
  /** Rows of pricing.price_change. */
  prices: Array<{sku: string; amount: string; changedAt: number}>;
  /** Rows of inventory.low_stock_alert. */
  alerts: Array<{alertId: string; raisedAt: number; clearedAt?: number}>;
}

export interface KindResult {
  watchers: number;
  /** Responses received (stock: snapshots not counted). */
  delivered: number;
  /** Events the watchers were entitled to, summed. */
  expected: number;
  watchersMissing: number;
  watchersExtra: number;
  missingEvents: number;
  extraEvents: number;
  /** Repeats of an event already received (at-least-once streams only). */
  duplicates: number;
  /** Stock: watchers whose changes came out of version order. */
  outOfOrder: number;
  /** Streams that ended before the bench cancelled them. */
  endedEarly: number;
  /** Those streams' status codes. */
  errorsByCode: Record<string, number>;
  /** A few watchers that missed or got too much, for a person to follow up. */
  examples: string[];
}

/** Normalizes an amount ("20.9900", "20.99") to compare text, not floating point. */
function amountKey(amount: string): string {
  return amount.includes('.') ? amount.replace(/\.?0+$/, '') : amount;
}

function counts(keys: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

interface Comparison {
  expected: number;
  missing: string[];
  extra: string[];
  duplicates: number;
}

/**
 * Compares two multisets of keys. With `atLeastOnce`, a key received more often than
 * expected (but at least once) is a duplicate rather than an extra.
 */
function compare(
  expected: readonly string[],
  got: readonly string[],
  atLeastOnce: boolean,
): Comparison {
  const want = counts(expected);
  const have = counts(got);
  const missing: string[] = [];
  const extra: string[] = [];
  let duplicates = 0;
  for (const [k, n] of want) {
    const h = have.get(k) ?? 0;
    for (let i = h; i < n; i++) missing.push(k);
    if (h > n && atLeastOnce) duplicates += h - n;
    else for (let i = n; i < h; i++) extra.push(k);
  }
  for (const [k, h] of have) {
    if (want.has(k)) continue;
    extra.push(k);
    if (atLeastOnce) duplicates += h - 1;
    else for (let i = 1; i < h; i++) extra.push(k);
  }
  return {expected: expected.length, missing, extra, duplicates};
}

function expectedAndGot(
  w: Watcher,
  truth: Truth,
): {expected: string[]; got: string[]; outOfOrder: boolean} {
  switch (w.kind) {
    case 'orders': {
      const expected = (truth.orders.get(w.subject) ?? [])
        .filter(o => o.createdAt > w.openedAt)
        .map(o => `${o.paid ? 'PAID' : 'FAILED'} ${o.orderId}`);
      const got = w.frames.map(f => {
        const e = fromBinary(WatchOrderEventsResponseSchema, f).event;
        const order = e?.order;
        // Another customer's order on this stream is an extra whatever its type.
        if (order?.customerId !== w.subject)
          return `OTHER CUSTOMER ${order?.customerId} ${order?.orderId}`;
        return `${OrderEventType[e?.type ?? 0]} ${order.orderId}`;
      });
      return {expected, got, outOfOrder: false};
    }
    case 'stock': {
      const levels = w.frames.map(f => {
        const l = fromBinary(WatchStockResponseSchema, f).level;
        return {sku: l?.sku ?? '', version: Number(l?.version ?? 0)};
      });
      const [snapshot, ...changes] = levels;
      const from = snapshot?.version ?? 0;
      const expected = (truth.stock.get(w.sku!) ?? [])
        .filter(v => v > from)
        .map(v => `v${v}`);
      // Changes at or below the snapshot's version may come and are dropped (the
      // contract: versions order updates); a change of another SKU never may.
      const got = changes
        .filter(l => l.sku !== w.sku || l.version > from)
        .map(l => (l.sku === w.sku ? `v${l.version}` : `SKU ${l.sku}`));
      const versions = changes.map(l => l.version);
      const outOfOrder = versions.some((v, i) => i > 0 && v <= versions[i - 1]);
      return {expected, got, outOfOrder};
    }
    case 'prices': {
      const expected = truth.prices
        .filter(p => p.sku === w.sku && p.changedAt > w.openedAt)
        .map(p => `${p.sku} ${p.changedAt} ${amountKey(p.amount)}`);
      const got = w.frames.map(f => {
        const c = fromBinary(WatchPricesResponseSchema, f).change;
        const at = c?.changeTime
          ? Number(c.changeTime.seconds) * 1000 +
            Math.floor(c.changeTime.nanos / 1e6)
          : 0;
        return `${c?.sku} ${at} ${amountKey(c?.newPrice?.amount ?? '')}`;
      });
      return {expected, got, outOfOrder: false};
    }
    case 'alerts': {
      const expected: string[] = [];
      for (const a of truth.alerts) {
        if (a.raisedAt > w.openedAt) expected.push(`${a.alertId} ACTIVE`);
        if (a.clearedAt !== undefined && a.clearedAt > w.openedAt)
          expected.push(`${a.alertId} CLEARED`);
      }
      const got = w.frames.map(f => {
        const a = fromBinary(WatchLowStockAlertsResponseSchema, f).alert;
        return `${a?.alertId} ${LowStockAlertState[a?.state ?? 0]}`;
      });
      return {expected, got, outOfOrder: false};
    }
  }
}

/** Checks every watcher of `kind` against `truth`. */
export function checkKind(
  kind: StreamKind,
  watchers: readonly Watcher[],
  truth: Truth,
): KindResult {
  const r: KindResult = {
    watchers: 0,
    delivered: 0,
    expected: 0,
    watchersMissing: 0,
    watchersExtra: 0,
    missingEvents: 0,
    extraEvents: 0,
    duplicates: 0,
    outOfOrder: 0,
    endedEarly: 0,
    errorsByCode: {},
    examples: [],
  };
  for (const w of watchers) {
    if (w.kind !== kind) continue;
    r.watchers++;
    r.delivered +=
      w.frames.length - (kind === 'stock' && w.frames.length ? 1 : 0);
    if (w.end && !w.cancelledByBench) {
      r.endedEarly++;
      const code = grpc.status[w.end.code] ?? String(w.end.code);
      r.errorsByCode[code] = (r.errorsByCode[code] ?? 0) + 1;
      if (r.examples.length < 5)
        r.examples.push(`${w.subject}: ended ${code} "${w.end.details}"`);
    }
    const {expected, got, outOfOrder} = expectedAndGot(w, truth);
    const c = compare(expected, got, kind === 'orders' || kind === 'alerts');
    r.expected += c.expected;
    r.duplicates += c.duplicates;
    if (outOfOrder) r.outOfOrder++;
    if (c.missing.length > 0) r.watchersMissing++;
    if (c.extra.length > 0) r.watchersExtra++;
    r.missingEvents += c.missing.length;
    r.extraEvents += c.extra.length;
    if ((c.missing.length || c.extra.length) && r.examples.length < 5) {
      r.examples.push(
        `${w.subject}${w.sku ? ` (${w.sku})` : ''}: expected ${c.expected}, got ${got.length}` +
          `; missing ${c.missing.slice(0, 3).join(', ') || '-'}` +
          `; extra ${c.extra.slice(0, 3).join(', ') || '-'}`,
      );
    }
  }
  return r;
}
