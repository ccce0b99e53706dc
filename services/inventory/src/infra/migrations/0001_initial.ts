/**
 * Inventory's schema. Stock invariants are enforced by PostgreSQL too, so no code path,
 * however wrong, can store negative or oversold stock.
 */
import {Migration} from '@mikro-orm/migrations';
import {OUTBOX_TABLE_SQL} from '../../../../common/outbox/outbox.js';

export class Migration0001Initial extends Migration {
  override up(): void {
    this.addSql(`
      create table stock_item (
        sku text not null,
        warehouse_id text not null,
        on_hand integer not null default 0,
        reserved integer not null default 0,
        low_stock_threshold integer not null default 0,
        version bigint not null default 1,
        updated_at timestamptz not null default now(),
        primary key (sku, warehouse_id),
        constraint stock_reserved_not_negative check (reserved >= 0),
        constraint stock_not_oversold check (reserved <= on_hand),
        constraint stock_threshold_not_negative check (low_stock_threshold >= 0)
      )`);
    this.addSql(`
      create table reservation (
        reservation_id uuid primary key,
        order_id text not null default '',
        state text not null check (state in ('active', 'committed', 'released', 'expired')),
        expires_at timestamptz not null,
        fingerprint text not null,
        created_at timestamptz not null,
        updated_at timestamptz not null
      )`);
    // The expiry sweeper only ever looks at active reservations.
    this.addSql(
      "create index reservation_active_expiry on reservation (expires_at) where state = 'active'",
    );
    this.addSql(`
      create table reservation_line (
        reservation_id uuid not null references reservation (reservation_id),
        sku text not null,
        warehouse_id text not null,
        quantity integer not null check (quantity > 0),
        primary key (reservation_id, sku, warehouse_id)
      )`);
    this.addSql(`
      create table stock_adjustment (
        request_id uuid primary key,
        sku text not null,
        warehouse_id text not null,
        delta integer not null,
        reason text not null check (reason in ('restock', 'correction', 'return', 'damage')),
        note text not null default '',
        fingerprint text not null,
        created_at timestamptz not null default now()
      )`);
    this.addSql(`
      create table low_stock_alert (
        alert_id bigserial primary key,
        sku text not null,
        warehouse_id text not null,
        available integer not null,
        threshold integer not null,
        raised_at timestamptz not null default now(),
        cleared_at timestamptz
      )`);
    // At most one open alert per SKU and warehouse.
    this.addSql(
      'create unique index low_stock_alert_open on low_stock_alert (sku, warehouse_id) where cleared_at is null',
    );
    this.addSql(OUTBOX_TABLE_SQL);
  }
}
