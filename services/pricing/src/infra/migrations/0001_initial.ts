/**
 * Pricing's schema. Amounts are NUMERIC: exact, and never read into a JS number.
 */
import {Migration} from '@mikro-orm/migrations';
import {OUTBOX_TABLE_SQL} from '../../../../common/outbox/outbox.js';
import {OUTBOX_DELIVERY_MIGRATION} from '../../../../common/outbox/outbox_migration.js';

export class Migration0001Initial extends Migration {
  override up(): void {
    this.addSql(`
      create table price (
        sku text not null,
        currency_code char(3) not null,
        base_amount numeric(24, 4) not null check (base_amount > 0),
        effective_amount numeric(24, 4) not null check (effective_amount > 0),
        applied_rule_ids text[] not null default '{}',
        updated_at timestamptz not null,
        primary key (sku, currency_code)
      )`);
    this.addSql(`
      create table price_rule (
        rule_id uuid primary key,
        name text not null,
        sku text,
        kind text not null check (kind in ('stock_at_or_below', 'demand_at_or_above')),
        stock_threshold integer,
        demand_units integer,
        demand_window_ms bigint,
        adjustment_percent numeric(8, 4) not null,
        priority integer not null,
        enabled boolean not null,
        created_at timestamptz not null
      )`);
    this.addSql(`
      create table price_change (
        change_id bigserial primary key,
        sku text not null,
        currency_code char(3) not null,
        old_amount numeric(24, 4),
        new_amount numeric(24, 4) not null,
        cause text not null,
        rule_ids text[] not null default '{}',
        changed_at timestamptz not null
      )`);
    this.addSql(
      'create index price_change_by_sku on price_change (sku, currency_code, change_id desc)',
    );
    this.addSql(`
      create table sale (
        order_id text not null,
        sku text not null,
        units integer not null check (units > 0),
        sold_at timestamptz not null,
        primary key (order_id, sku)
      )`);
    this.addSql('create index sale_by_sku_time on sale (sku, sold_at)');
    this.addSql(OUTBOX_TABLE_SQL);
  }
}

export const PRICING_MIGRATIONS = [
  {name: '0001_initial', class: Migration0001Initial},
  OUTBOX_DELIVERY_MIGRATION,
];
