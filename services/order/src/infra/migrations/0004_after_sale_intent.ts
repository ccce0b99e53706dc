/**
 * Intent before effect for after-sale operations (app/after_sale.ts), and the owner of
 * a recovery lease.
 *
 * - after_sale_intent: a cancel or refund is written here, and committed, before Order
 *   asks Payment for the money back. If Order dies or loses PostgreSQL after Payment
 *   refunded and before the refund is recorded, the row is still here and the sweep
 *   drives it again with the same derived refund id (Payment answers the refund it
 *   made), so Payment's refunds and Order's never stay apart. One row per refund
 *   request id (global, like order_refund's) and one per cancelled order.
 * - customer_order.lease_owner: the recovery pass that holds a lease. A lease whose
 *   owner stopped heartbeating is void at once, so a replica that died mid-pass does not
 *   keep its orders from the others for the whole lease.
 */
import {Migration} from '@mikro-orm/migrations';

export class Migration0004AfterSaleIntent extends Migration {
  override up(): void {
    this.addSql(`create table after_sale_intent (
      kind text not null check (kind in ('cancel', 'refund')),
      request_id uuid not null,
      order_id uuid not null references customer_order (order_id),
      amount numeric(24, 4) check (amount > 0),
      reason text not null default '',
      attempts int not null default 0,
      next_attempt_at timestamptz,
      last_error text not null default '',
      created_at timestamptz not null default now(),
      primary key (kind, request_id),
      check ((kind = 'refund') = (amount is not null)))`);
    this.addSql(
      'create index after_sale_intent_by_order on after_sale_intent (order_id, created_at)',
    );
    this.addSql('alter table customer_order add column lease_owner text');
  }
}
