/**
 * Payment's schema. Amounts are NUMERIC, exact and never read into a JS number, and the
 * money invariants are CHECK constraints too, so no code path, however wrong, can store a
 * capture over the authorization or a refund over the capture.
 */
import {Migration} from '@mikro-orm/migrations';
import {OUTBOX_TABLE_SQL} from '../../../../common/outbox/outbox.js';
import {OUTBOX_DELIVERY_MIGRATION} from '../../../../common/outbox/outbox_migration.js';
import {Migration0002PendingLedger} from './0002_pending_ledger.js';

export class Migration0001Initial extends Migration {
  override up(): void {
    this.addSql(`
      create table payment (
        payment_id uuid primary key,
        order_id text not null,
        state text not null check (state in
          ('authorized', 'declined', 'captured', 'voided', 'partially_refunded', 'refunded')),
        currency_code text not null check (currency_code ~ '^[A-Z]{3}$'),
        amount numeric(24, 4) not null,
        captured_amount numeric(24, 4) not null default 0,
        refunded_amount numeric(24, 4) not null default 0,
        decline_code text not null default '',
        provider text not null,
        provider_reference text not null default '',
        capture_reference text not null default '',
        void_reference text not null default '',
        -- SHA-256 of the authorize request (the token only as its own hash): tells a
        -- retry from a reused payment id. The token itself is never stored.
        request_fingerprint text not null,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        constraint payment_amount_positive check (amount > 0),
        constraint payment_captured_within_amount
          check (captured_amount >= 0 and captured_amount <= amount),
        constraint payment_refunded_within_captured
          check (refunded_amount >= 0 and refunded_amount <= captured_amount),
        constraint payment_captured_iff_capture_state check (
          (state in ('captured', 'partially_refunded', 'refunded')) = (captured_amount > 0)),
        constraint payment_refunded_iff_refund_state check (
          (state in ('partially_refunded', 'refunded')) = (refunded_amount > 0)),
        constraint payment_fully_refunded check (
          (state = 'refunded') = (refunded_amount > 0 and refunded_amount = captured_amount)),
        constraint payment_decline_code_iff_declined check (
          (state = 'declined') = (decline_code <> ''))
      )`);
    this.addSql(
      'create index payment_by_order on payment (order_id, created_at, payment_id)',
    );
    this.addSql(`
      create table refund (
        refund_id uuid primary key,
        payment_id uuid not null references payment (payment_id),
        -- Orders refunds oldest first even when two share a timestamp.
        seq bigint generated always as identity,
        amount numeric(24, 4) not null check (amount > 0),
        reason text not null default '',
        -- Empty only inside the transaction that asks the provider for the refund.
        provider_reference text not null default '',
        created_at timestamptz not null
      )`);
    this.addSql('create index refund_by_payment on refund (payment_id, seq)');
    this.addSql(OUTBOX_TABLE_SQL);
  }
}

export const PAYMENT_MIGRATIONS = [
  {name: '0001_initial', class: Migration0001Initial},
  {name: '0002_pending_ledger', class: Migration0002PendingLedger},
  OUTBOX_DELIVERY_MIGRATION,
];
