/**
 * Reads the chaos suite's Snapshot (invariants.ts) from the private PostgreSQL cluster
 * (every schema, as the superuser), the private Redis, and, when the Order service has
 * one, its Reconcile RPC.
 */
import {toJson, type DescService} from '@bufbuild/protobuf';
import type {Redis} from 'ioredis';
import type pg from 'pg';
import {OrderService} from '../../gen/agora/order/v1/order_service_pb.js';
import {stockKey} from '../../services/common/redis/stock_keys.js';
import {createGrpcClient} from '../../services/common/rpc/grpc_client.js';
import type {Line, MirrorRow, ReconcileResult, Snapshot} from './invariants.js';

const OUTBOX_SCHEMAS = [
  'ordering',
  'payment',
  'inventory',
  'pricing',
  'report',
];

export async function readSnapshot(
  db: pg.Pool,
  redis: Redis,
  namespace: string,
  reconcile: () => Promise<ReconcileResult | undefined>,
): Promise<Snapshot> {
  const q = async <T>(sql: string): Promise<T[]> =>
    (await db.query(sql)).rows as T[];
  const now = (await q<{now: Date}>('select now() as now'))[0].now;
  const orders = (
    await q<{
      order_id: string;
      state: string;
      total: string;
      refunded: string;
      lines: Line[];
    }>(
      'select order_id::text, state, total::text, refunded::text, lines from ordering.customer_order',
    )
  ).map(r => ({
    orderId: r.order_id,
    state: r.state,
    total: r.total,
    refunded: r.refunded,
    lines: r.lines.map(l => ({sku: l.sku, quantity: Number(l.quantity)})),
  }));
  const payments = (
    await q<{
      payment_id: string;
      order_id: string;
      state: string;
      captured_amount: string;
      refunded_amount: string;
    }>(
      'select payment_id::text, order_id, state, captured_amount::text, refunded_amount::text from payment.payment',
    )
  ).map(r => ({
    paymentId: r.payment_id,
    orderId: r.order_id,
    state: r.state,
    captured: r.captured_amount,
    refunded: r.refunded_amount,
  }));
  const reservations = (
    await q<{
      reservation_id: string;
      order_id: string;
      state: string;
      expires_at: Date;
      lines: Line[] | null;
    }>(
      `select r.reservation_id::text, r.order_id, r.state, r.expires_at,
              json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity))
                filter (where l.sku is not null) as lines
         from inventory.reservation r
         left join inventory.reservation_line l using (reservation_id)
        group by r.reservation_id`,
    )
  ).map(r => ({
    reservationId: r.reservation_id,
    orderId: r.order_id,
    state: r.state,
    expiresAt: r.expires_at,
    lines: r.lines ?? [],
  }));
  const stock = (
    await q<{sku: string; on_hand: number; reserved: number; adjusted: number}>(
      `select s.sku, sum(s.on_hand)::int as on_hand, sum(s.reserved)::int as reserved,
              coalesce((select sum(a.delta) from inventory.stock_adjustment a where a.sku = s.sku), 0)::int as adjusted
         from inventory.stock_item s group by s.sku order by s.sku`,
    )
  ).map(r => ({
    sku: r.sku,
    onHand: r.on_hand,
    reserved: r.reserved,
    adjusted: r.adjusted,
  }));
  const ledgerTotals = (
    await q<{currency: string; sum: string}>(
      'select currency_code as currency, sum(amount)::text as sum from payment.ledger_posting group by currency_code order by 1',
    )
  ).map(r => ({currency: r.currency, sum: r.sum}));
  const unbalancedLedgerTransactions = (
    await q<{id: string}>(
      `select distinct ledger_transaction_id::text as id from payment.ledger_posting
        group by ledger_transaction_id, currency_code having sum(amount) <> 0`,
    )
  ).map(r => r.id);
  const outbox: Record<string, number> = {};
  for (const schema of OUTBOX_SCHEMAS) {
    const exists = await q<{t: string | null}>(
      `select to_regclass('${schema}.outbox')::text as t`,
    );
    if (exists[0].t === null) continue;
    outbox[schema] = Number(
      (await q<{n: string}>(`select count(*) as n from ${schema}.outbox`))[0].n,
    );
  }
  let mirror: MirrorRow[] | undefined;
  try {
    mirror = [];
    for (const st of stock) {
      const h = await redis.hgetall(stockKey(namespace, st.sku));
      const num = (v: string | undefined) =>
        v === undefined ? undefined : Number(v);
      mirror.push({
        sku: st.sku,
        onHand: num(h.on_hand),
        reserved: num(h.reserved),
        available: num(h.available),
      });
    }
  } catch {
    mirror = undefined;
  }
  return {
    now,
    orders,
    payments,
    reservations,
    stock,
    mirror,
    ledgerTotals,
    unbalancedLedgerTransactions,
    outbox,
    reconcile: await reconcile(),
  };
}

/** The Order service's Reconcile RPC, when its proto has one. */
export function hasReconcileRpc(service: DescService = OrderService): boolean {
  return service.methods.some(m => m.name === 'Reconcile');
}

/**
 * Calls Order's Reconcile RPC (an empty request) and counts the drift it reports: every
 * entry of a repeated field and every number in a field whose name speaks of drift or
 * discrepancies. Written against the RPC's shape only by name, so it works as soon as
 * the RPC lands; undefined while it does not exist.
 */
export async function callReconcile(
  orderAddress: string,
  admin: string,
): Promise<ReconcileResult | undefined> {
  const method = OrderService.methods.find(m => m.name === 'Reconcile');
  if (method === undefined) return undefined;
  const client = createGrpcClient(OrderService, orderAddress, {
    authorization: () => admin,
    defaultTimeoutMs: 15_000,
  }) as unknown as Record<string, unknown> & {close(): void};
  try {
    const call = client[method.localName] as (
      req: object,
    ) => Promise<Parameters<typeof toJson>[1]>;
    const res = await call({});
    return driftOf(toJson(method.output, res));
  } catch (err) {
    return {
      drift: 1,
      details: [
        `Reconcile failed: ${err instanceof Error ? err.message : String(err)}`,
      ],
    };
  } finally {
    client.close();
  }
}

/** Drift in a Reconcile answer given as JSON (see callReconcile). */
export function driftOf(json: unknown): ReconcileResult {
  let drift = 0;
  const details: string[] = [];
  const walk = (v: unknown, key: string) => {
    const named = /drift|discrepanc|mismatch/i.test(key);
    if (Array.isArray(v)) {
      if (named && v.length > 0) {
        drift += v.length;
        details.push(...v.map(e => `${key}: ${JSON.stringify(e)}`));
      } else v.forEach(e => walk(e, key));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, e] of Object.entries(v)) walk(e, k);
    } else if (named && Number(v) > 0 && /count|total|^drift$/i.test(key)) {
      drift += Number(v);
      details.push(`${key} = ${String(v)}`);
    }
  };
  walk(json, '');
  return {drift, details};
}
