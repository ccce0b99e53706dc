/**
 * OrderStore on PostgreSQL. State changes use optimistic locking (`version`): the saga,
 * the recovery worker and after-sale calls may race on one order, and the loser learns it
 * instead of overwriting. After-sale operations additionally hold the row lock for their
 * whole run (withOrderLock), and recovery claims rows with a lease (claimRecovery).
 */
import type {Database, Sql} from '../../../common/db/database.js';
import {ConcurrentRequestError} from '../../../common/errors/domain_error.js';
import type {OutgoingEvent} from '../../../common/messaging/event_bus.js';
import {Money} from '../../../common/money/money.js';
import {outboxInsertSql, outboxParams} from '../../../common/outbox/outbox.js';
import {
  Order,
  type FailureReason,
  type OrderEvent,
  type OrderState,
} from '../domain/order.js';
import type {
  AfterSaleIntent,
  DueIntents,
  LockedOrder,
  OrderStore,
  RecoveryClaim,
  RecoveryQuery,
} from '../app/ports.js';

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
  pending_undo: string[];
  retryable: boolean;
  recovery_attempts: number;
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
    pendingUndo: row.pending_undo,
    retryable: row.retryable,
    updatedAt: row.updated_at,
    version: row.version,
  });
}

export type OrderEventEncoder = (
  order: Order,
  event: OrderEvent,
) => OutgoingEvent;

/** Whether a row is a live order of its request id (see 0002_saga_recovery.ts). */
const LIVE = "not (retryable and pending_undo = '[]')";

export class PgOrderStore implements OrderStore {
  constructor(
    private readonly db: Database,
    private readonly encode: OrderEventEncoder,
    /** Called after a commit that queued events. */
    private readonly afterCommit: () => void = () => {},
    /** This process: the owner of the sagas it starts. */
    private readonly instanceId = 'unnamed',
    /** How long after-sale calls wait for an order's lock before answering ABORTED. */
    private readonly lockTimeoutMs = 5_000,
  ) {}

  async insert(order: Order): Promise<boolean> {
    const s = order.snapshot();
    const n = await this.db.execute(
      `insert into customer_order (order_id, request_id, customer_id, state, currency_code, total, lines,
         quote_id, payment_id, reservation_id, fingerprint, created_at, updated_at, owner_id)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)
       on conflict (request_id) where ${LIVE} do nothing`,
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
        this.instanceId,
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
    // Read now, taken only once saved: a save that throws (PostgreSQL briefly gone)
    // keeps them for the retry; when the version check fails the caller drops this
    // stale order object and reloads.
    const events = order.peekEvents().map(e => this.encode(order, e));
    const [row] = await sql.query<{updated: string}>(
      `with u as (
         update customer_order set state = $3, refunded = $4, failure_reason = $5,
                failure_message = $6, pending_undo = $7, updated_at = $8,
                retryable = $9, version = version + 1
          where order_id = $1 and version = $2
         returning 1),
       ev as (${outboxInsertSql(10, 'where exists (select 1 from u)')} returning 1)
       select (select count(*) from u) as updated`,
      [
        s.id,
        s.version,
        s.state,
        s.refunded.toString(),
        s.failureReason ?? null,
        s.failureMessage,
        JSON.stringify(s.pendingUndo),
        s.updatedAt,
        s.retryable,
        ...outboxParams(events),
      ],
    );
    if (row.updated === '0') return {ok: false, events: false};
    order.pullEvents();
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
      `select * from customer_order where request_id = $1
        order by ${LIVE} desc, created_at desc limit 1`,
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

  async disown(orderId: string): Promise<void> {
    await this.db.execute(
      "update customer_order set owner_id = null where order_id = $1 and state = 'pending'",
      [orderId],
    );
  }

  async heartbeat(): Promise<void> {
    await this.db.execute(
      `insert into saga_owner (instance_id, heartbeat_at) values ($1, now())
         on conflict (instance_id) do update set heartbeat_at = now()`,
      [this.instanceId],
    );
  }

  async claimRecovery(q: RecoveryQuery): Promise<RecoveryClaim[]> {
    // One statement: the rows are locked (SKIP LOCKED: another replica's pass takes
    // others), leased, and returned; the lease keeps them out of every other pass until
    // this one reports back, the lease lapses, or its owner stops heartbeating (a
    // replica killed mid-pass: its orders are free again after ownerGoneMs, not leaseMs).
    const rows = await this.db.query<OrderRow>(
      `with due as (
         select order_id from customer_order o
          where (o.state = 'pending' or o.pending_undo <> '[]')
            and o.parked_at is null
            and (o.next_attempt_at is null or o.next_attempt_at <= now())
            and (o.lease_until is null or o.lease_until < now()
                 or not exists (select 1 from saga_owner w
                                 where w.instance_id = o.lease_owner
                                   and w.heartbeat_at > now() - make_interval(secs => $2::double precision / 1000)))
            and (o.state <> 'pending'
                 or o.created_at < now() - make_interval(secs => $1::double precision / 1000)
                 or o.owner_id is null
                 or not exists (select 1 from saga_owner w
                                 where w.instance_id = o.owner_id
                                   and w.heartbeat_at > now() - make_interval(secs => $2::double precision / 1000)))
          order by coalesce(o.next_attempt_at, o.created_at)
          limit $3
          for update skip locked)
       update customer_order c
          set lease_until = now() + make_interval(secs => $4::double precision / 1000),
              lease_owner = $5
         from due where c.order_id = due.order_id
       returning c.*`,
      [q.abandonedAfterMs, q.ownerGoneMs, q.limit, q.leaseMs, this.instanceId],
    );
    return rows.map(row => ({
      order: toOrder(row),
      attempts: row.recovery_attempts,
    }));
  }

  async recoverySucceeded(orderId: string): Promise<void> {
    await this.db.execute(
      `update customer_order set lease_until = null, lease_owner = null, recovery_attempts = 0,
              next_attempt_at = null, parked_reason = null
        where order_id = $1`,
      [orderId],
    );
  }

  async recoveryFailed(
    orderId: string,
    reason: string,
    retryAt: Date | undefined,
  ): Promise<void> {
    await this.db.execute(
      `update customer_order set lease_until = null, lease_owner = null,
              recovery_attempts = recovery_attempts + 1,
              next_attempt_at = $2, parked_reason = $3,
              parked_at = case when $2::timestamptz is null then now() end
        where order_id = $1`,
      [orderId, retryAt ?? null, reason.slice(0, 500)],
    );
  }

  async parkedCount(): Promise<number> {
    const [row] = await this.db.query<{n: string}>(
      'select count(*) as n from customer_order where parked_at is not null',
    );
    return Number(row.n);
  }

  async withOrderLock<T>(
    orderId: string,
    work: (locked: LockedOrder) => Promise<T>,
  ): Promise<T> {
    let events = false;
    try {
      const result = await this.db.tx(async sql => {
        await sql.execute("select set_config('lock_timeout', $1, true)", [
          `${this.lockTimeoutMs}ms`,
        ]);
        const [row] = await sql.query<OrderRow>(
          'select * from customer_order where order_id = $1 for update',
          [orderId],
        );
        const save = async (order: Order) => {
          const saved = await this.saveIn(sql, order);
          if (!saved.ok)
            throw new Error(`order ${orderId} changed under its lock`);
          events ||= saved.events;
        };
        return work({
          order: row && toOrder(row),
          save,
          recordRefund: async (requestId, amount, order) => {
            await sql.execute(
              'insert into order_refund (request_id, order_id, amount) values ($1, $2, $3)',
              [requestId, orderId, amount.toString()],
            );
            await save(order);
          },
          existingRefund: requestId => this.refundOf(sql, requestId),
          recordIntent: async intent => {
            await sql.execute(
              `insert into after_sale_intent (kind, request_id, order_id, amount, reason)
               values ($1, $2, $3, $4, $5) on conflict (kind, request_id) do nothing`,
              [
                intent.kind,
                intent.requestId,
                intent.orderId,
                intent.amount?.toString() ?? null,
                intent.reason,
              ],
            );
          },
          findIntent: async (kind, requestId) => {
            const [row] = await sql.query<IntentRow>(
              `${INTENT_SELECT} where i.kind = $1 and i.request_id = $2`,
              [kind, requestId],
            );
            return row && toIntent(row);
          },
          pendingIntents: async () => {
            const rows = await sql.query<IntentRow>(
              `${INTENT_SELECT} where i.order_id = $1
                order by i.created_at, i.kind, i.request_id`,
              [orderId],
            );
            return rows.map(toIntent);
          },
          dropIntent: async intent => {
            await sql.execute(
              'delete from after_sale_intent where kind = $1 and request_id = $2',
              [intent.kind, intent.requestId],
            );
          },
        });
      });
      if (events) this.afterCommit();
      return result;
    } catch (err) {
      if (isLockTimeout(err)) {
        throw new ConcurrentRequestError(
          `order ${orderId} is busy with another cancel or refund; retry`,
          {orderId},
        );
      }
      throw err;
    }
  }

  async dueIntents(olderThanMs: number, limit: number): Promise<DueIntents[]> {
    const rows = await this.db.query<{order_id: string; attempts: number}>(
      `select order_id, max(attempts) as attempts from after_sale_intent
        where created_at < now() - make_interval(secs => $1::double precision / 1000)
          and (next_attempt_at is null or next_attempt_at <= now())
        group by order_id order by min(created_at) limit $2`,
      [olderThanMs, limit],
    );
    return rows.map(r => ({orderId: r.order_id, attempts: r.attempts}));
  }

  async intentBacklog(): Promise<{count: number; oldestSeconds: number}> {
    const [row] = await this.db.query<{n: string; oldest: number | null}>(
      `select count(*) as n,
              extract(epoch from now() - min(created_at))::float8 as oldest
         from after_sale_intent`,
    );
    return {count: Number(row.n), oldestSeconds: row.oldest ?? 0};
  }

  async intentsFailed(
    orderId: string,
    reason: string,
    retryAt: Date,
  ): Promise<void> {
    await this.db.execute(
      `update after_sale_intent set attempts = attempts + 1, next_attempt_at = $2,
              last_error = $3
        where order_id = $1`,
      [orderId, retryAt, reason.slice(0, 500)],
    );
  }

  private async refundOf(
    sql: Sql,
    requestId: string,
  ): Promise<{orderId: string; amount: Money} | undefined> {
    const [row] = await sql.query<{
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

interface IntentRow {
  kind: AfterSaleIntent['kind'];
  request_id: string;
  order_id: string;
  amount: string | null;
  currency_code: string;
  reason: string;
  attempts: number;
}

const INTENT_SELECT = `select i.kind, i.request_id, i.order_id, i.amount, i.reason,
       i.attempts, o.currency_code
  from after_sale_intent i join customer_order o using (order_id)`;

function toIntent(row: IntentRow): AfterSaleIntent {
  return {
    kind: row.kind,
    requestId: row.request_id,
    orderId: row.order_id,
    amount:
      row.amount === null ? undefined : Money.of(row.amount, row.currency_code),
    reason: row.reason,
    attempts: row.attempts,
  };
}

/** PostgreSQL's lock_not_available (lock_timeout expired). */
function isLockTimeout(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as {code?: unknown}).code === '55P03'
  );
}
