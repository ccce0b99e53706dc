/**
 * ReconcileStore on PostgreSQL: Order's orders as reconciliation sees them, the pass
 * lease (one row), and the repairs table.
 */
import type {Database} from '../../../common/db/database.js';
import {Money} from '../../../common/money/money.js';
import type {OrderState} from '../domain/order.js';
import type {OrderFacts} from '../domain/reconciliation.js';
import type {ReconcileStore, RepairRecord} from '../app/ports.js';

interface FactsRow {
  order_id: string;
  state: OrderState;
  currency_code: string;
  total: string;
  refunded: string;
  lines: Array<{sku: string; quantity: number}>;
  reservation_id: string;
  pending_undo: string[];
  updated_at: Date;
}

const SELECT_FACTS = `select order_id, state, currency_code, total::text, refunded::text,
    lines, reservation_id, pending_undo, updated_at from customer_order`;

function toFacts(r: FactsRow): OrderFacts {
  return {
    id: r.order_id,
    state: r.state,
    total: Money.of(r.total, r.currency_code),
    refunded: Money.of(r.refunded, r.currency_code),
    lines: r.lines.map(l => ({sku: l.sku, quantity: l.quantity})),
    reservationId: r.reservation_id,
    pendingUndo: r.pending_undo,
    updatedAt: r.updated_at,
  };
}

export class PgReconcileStore implements ReconcileStore {
  constructor(
    private readonly db: Database,
    private readonly outboxLag: () => Promise<number>,
  ) {}

  async ordersUpdatedSince(since: Date): Promise<OrderFacts[]> {
    const rows = await this.db.query<FactsRow>(
      `${SELECT_FACTS} where updated_at >= $1`,
      [since],
    );
    return rows.map(toFacts);
  }

  async ordersByIds(ids: readonly string[]): Promise<OrderFacts[]> {
    // Ids from other services are text; one that is not a UUID names no order.
    const rows = await this.db.query<FactsRow>(
      `${SELECT_FACTS} where order_id::text = any($1::text[])`,
      [[...ids]],
    );
    return rows.map(toFacts);
  }

  async tryLease(holder: string, leaseMs: number): Promise<boolean> {
    const rows = await this.db.query(
      `insert into reconcile_lease (name, holder, lease_until)
       values ('reconcile', $1, now() + make_interval(secs => $2::double precision / 1000))
       on conflict (name) do update
         set holder = excluded.holder, lease_until = excluded.lease_until
         where reconcile_lease.lease_until < now()
       returning holder`,
      [holder, leaseMs],
    );
    return rows.length > 0;
  }

  async releaseLease(holder: string): Promise<void> {
    await this.db.execute(
      `update reconcile_lease set lease_until = now()
        where name = 'reconcile' and holder = $1`,
      [holder],
    );
  }

  async recordRepair(r: RepairRecord): Promise<void> {
    await this.db.execute(
      `insert into reconcile_repair (kind, action, target, outcome, detail, repaired_at)
       values ($1, $2, $3, $4, $5, $6)`,
      [r.kind, r.action, r.target, r.outcome, r.detail, r.at],
    );
  }

  outboxLagSeconds(): Promise<number> {
    return this.outboxLag();
  }
}
