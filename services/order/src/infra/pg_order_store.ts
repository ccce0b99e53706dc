/**
 * OrderStore on PostgreSQL. State changes use optimistic locking (`version`): the saga,
 * the recovery worker and after-sale calls may race on one order, and the loser learns it
 * instead of overwriting.
 */
import type {Database, Sql} from '../../../common/db/database.js';
import type {OutgoingEvent} from '../../../common/messaging/event_bus.js';
import {Money} from '../../../common/money/money.js';
import {outboxInsertSql, outboxParams} from '../../../common/outbox/outbox.js';
import {
  Order,
  type FailureReason,
  type OrderEvent,
  type OrderState,
} from '../domain/order.js';
import type {OrderStore} from '../app/ports.js';

interface OrderRow {
  order_id: string;
  request_id: string;
  customer_id: string;
  state: OrderState;
  currency_code: string;
  total: string;
  refunded: string;
  lines: Array<{
    sku: string;
    quantity: number;
    unit_price: string;
    line_total: string;
  }>;
  quote_id: string;
  payment_id: string;
  reservation_id: string;
  failure_reason: FailureReason | null;
  failure_message: string;
  compensation_pending: boolean;
  fingerprint: string;
  created_at: Date;
  updated_at: Date;
  version: number;
}

function toOrder(row: OrderRow): Order {
  const c = row.currency_code;
  return Order.restore({
    id: row.order_id,
    requestId: row.request_id,
    customerId: row.customer_id,
    lines: row.lines.map(l => ({
      sku: l.sku,
      quantity: l.quantity,
      unitPrice: Money.of(l.unit_price, c),
      lineTotal: Money.of(l.line_total, c),
    })),
    quoteId: row.quote_id,
    paymentId: row.payment_id,
    reservationId: row.reservation_id,
    fingerprint: row.fingerprint,
    createdAt: row.created_at,
    state: row.state,
    total: Money.of(row.total, c),
    refunded: Money.of(row.refunded, c),
    failureReason: row.failure_reason ?? undefined,
    failureMessage: row.failure_message,
    compensationPending: row.compensation_pending,
    updatedAt: row.updated_at,
    version: row.version,
  });
}

export type OrderEventEncoder = (
  order: Order,
  event: OrderEvent,
) => OutgoingEvent;

export class PgOrderStore implements OrderStore {
  constructor(
    private readonly db: Database,
    private readonly encode: OrderEventEncoder,
    /** Called after a commit that queued events. */
    private readonly afterCommit: () => void = () => {},
  ) {}

  async insert(order: Order): Promise<boolean> {
    const s = order.snapshot();
    const n = await this.db.execute(
      `insert into customer_order (order_id, request_id, customer_id, state, currency_code, total, lines,
         quote_id, payment_id, reservation_id, fingerprint, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
       on conflict (request_id) do nothing`,
      [
        s.id,
        s.requestId,
        s.customerId,
        s.state,
        s.total.currencyCode,
        s.total.toString(),
        JSON.stringify(
          s.lines.map(l => ({
            sku: l.sku,
            quantity: l.quantity,
            unit_price: l.unitPrice.toString(),
            line_total: l.lineTotal.toString(),
          })),
        ),
        s.quoteId,
        s.paymentId,
        s.reservationId,
        s.fingerprint,
        s.createdAt,
      ],
    );
    return n > 0;
  }

  async save(order: Order): Promise<boolean> {
    const saved = await this.saveIn(this.db, order);
    if (saved.events) this.afterCommit();
    return saved.ok;
  }

  /**
   * The state change and its events in one statement: one round trip, and atomic even
   * outside a transaction. The events are inserted only if the version check passed.
   */
  private async saveIn(
    sql: Sql,
    order: Order,
  ): Promise<{ok: boolean; events: boolean}> {
    const s = order.snapshot();
    // Taken now, before we know the outcome: when the version check fails the caller
    // drops this stale order object and reloads.
    const events = order.pullEvents().map(e => this.encode(order, e));
    const [row] = await sql.query<{updated: string}>(
      `with u as (
         update customer_order set state = $3, refunded = $4, failure_reason = $5,
                failure_message = $6, compensation_pending = $7, updated_at = $8,
                version = version + 1
          where order_id = $1 and version = $2
         returning 1),
       ev as (${outboxInsertSql(9, 'where exists (select 1 from u)')} returning 1)
       select (select count(*) from u) as updated`,
      [
        s.id,
        s.version,
        s.state,
        s.refunded.toString(),
        s.failureReason ?? null,
        s.failureMessage,
        s.compensationPending,
        s.updatedAt,
        ...outboxParams(events),
      ],
    );
    if (row.updated === '0') return {ok: false, events: false};
    order.confirmSaved();
    return {ok: true, events: events.length > 0};
  }

  async find(orderId: string): Promise<Order | undefined> {
    const [row] = await this.db.query<OrderRow>(
      'select * from customer_order where order_id = $1',
      [orderId],
    );
    return row && toOrder(row);
  }

  async findByRequestId(requestId: string): Promise<Order | undefined> {
    const [row] = await this.db.query<OrderRow>(
      'select * from customer_order where request_id = $1',
      [requestId],
    );
    return row && toOrder(row);
  }

  async listByCustomer(
    customerId: string,
    limit: number,
    after?: {createdAt: Date; orderId: string},
  ) {
    const rows = await this.db.query<OrderRow>(
      `select * from customer_order where customer_id = $1
          and ($2::timestamptz is null or (created_at, order_id) < ($2::timestamptz, $3::uuid))
        order by created_at desc, order_id desc limit $4`,
      [customerId, after?.createdAt ?? null, after?.orderId ?? null, limit],
    );
    return rows.map(toOrder);
  }

  async needingRecovery(pendingForMs: number, limit: number): Promise<Order[]> {
    const rows = await this.db.query<OrderRow>(
      `select * from customer_order
        where (state = 'pending' and created_at < now() - make_interval(secs => $1::double precision / 1000))
           or compensation_pending
        order by created_at limit $2`,
      [pendingForMs, limit],
    );
    return rows.map(toOrder);
  }

  async recordRefund(
    orderId: string,
    requestId: string,
    amount: Money,
    order: Order,
  ): Promise<boolean> {
    const result = await this.db.tx(async sql => {
      const n = await sql.execute(
        'insert into order_refund (request_id, order_id, amount) values ($1, $2, $3) on conflict do nothing',
        [requestId, orderId, amount.toString()],
      );
      if (n === 0) return {ok: false, events: false};
      const saved = await this.saveIn(sql, order);
      if (!saved.ok)
        throw new Error(`order ${orderId} changed during the refund; retry`);
      return saved;
    });
    if (result.events) this.afterCommit();
    return result.ok;
  }

  async existingRefund(
    requestId: string,
  ): Promise<{orderId: string; amount: Money} | undefined> {
    const [row] = await this.db.query<{
      order_id: string;
      amount: string;
      currency_code: string;
    }>(
      `select r.order_id, r.amount, o.currency_code from order_refund r
         join customer_order o using (order_id) where r.request_id = $1`,
      [requestId],
    );
    return (
      row && {
        orderId: row.order_id,
        amount: Money.of(row.amount, row.currency_code),
      }
    );
  }
}
