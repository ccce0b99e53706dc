/**
 * Order's schema ("ordering": ORDER is an SQL keyword). Lines are stored with the order
 * as JSON: they never change after the quote, and one row per order keeps the hot path
 * to one insert and one update.
 */
import {Migration} from '@mikro-orm/migrations';
import {OUTBOX_TABLE_SQL} from '../../../../common/outbox/outbox.js';
import {OUTBOX_DELIVERY_MIGRATION} from '../../../../common/outbox/outbox_migration.js';
import {Migration0002SagaRecovery} from './0002_saga_recovery.js';
import {Migration0003Reconciliation} from './0003_reconciliation.js';
import {Migration0004AfterSaleIntent} from './0004_after_sale_intent.js';

export class Migration0001Initial extends Migration {
  override up(): void {
    this.addSql(`
      create table customer_order (
        order_id uuid primary key,
        request_id uuid not null unique,
        customer_id text not null,
        state text not null check (state in
          ('pending', 'paid', 'failed', 'cancelled', 'partially_refunded', 'refunded')),
        currency_code char(3) not null,
        total numeric(24, 4) not null check (total > 0),
        refunded numeric(24, 4) not null default 0 check (refunded >= 0 and refunded <= total),
        lines jsonb not null,
        quote_id text not null,
        payment_id uuid not null,
        reservation_id uuid not null,
        failure_reason text,
        failure_message text not null default '',
        compensation_pending boolean not null default false,
        fingerprint text not null,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        version integer not null default 1
      )`);
    this.addSql(
      'create index customer_order_by_customer on customer_order (customer_id, created_at desc, order_id desc)',
    );
    // The recovery worker looks only at unfinished sagas and pending undo steps.
    this.addSql(
      `create index customer_order_recovery on customer_order (created_at)
        where state = 'pending' or compensation_pending`,
    );
    this.addSql(`
      create table order_refund (
        request_id uuid primary key,
        order_id uuid not null references customer_order (order_id),
        amount numeric(24, 4) not null check (amount > 0),
        created_at timestamptz not null default now()
      )`);
    this.addSql(OUTBOX_TABLE_SQL);
  }
}

export const ORDER_MIGRATIONS = [
  {name: '0001_initial', class: Migration0001Initial},
  {name: '0002_saga_recovery', class: Migration0002SagaRecovery},
  OUTBOX_DELIVERY_MIGRATION,
  {name: '0003_reconciliation', class: Migration0003Reconciliation},
  {name: '0004_after_sale_intent', class: Migration0004AfterSaleIntent},
];
