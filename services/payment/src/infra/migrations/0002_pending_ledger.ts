/**
 * Intent before effect, void tombstones, the double-entry ledger and the sandbox
 * provider's durable idempotency keys.
 *
 * - `pending`: the row is written before the provider is asked.
 * - `tombstone`: a payment id voided before any authorization reached Payment; it holds
 *   no order or amount (currency XXX, ISO 4217's "no currency", amount 0).
 * - The ledger: one ledger_transaction per change of a payment's money, its postings
 *   summing to zero per currency. A deferred constraint trigger checks every
 *   transaction touched at commit, so no code path, and no hand-written SQL, can commit
 *   an unbalanced one; captured ≤ authorized and refunded ≤ captured stay the CHECK
 *   constraints of 0001.
 * - sandbox_provider_key: what the sandbox answered under each idempotency key, so a
 *   restarted Payment can ask it what happened to a call whose answer it lost, as it
 *   would ask a real provider.
 */
import {Migration} from '@mikro-orm/migrations';

export class Migration0002PendingLedger extends Migration {
  override up(): void {
    this.addSql('alter table payment drop constraint payment_state_check');
    this.addSql(`
      alter table payment add constraint payment_state_check check (state in
        ('pending', 'authorized', 'declined', 'captured', 'voided', 'partially_refunded',
         'refunded'))`);
    this.addSql(
      'alter table payment add column tombstone boolean not null default false',
    );
    this.addSql('alter table payment drop constraint payment_amount_positive');
    this.addSql(`
      alter table payment add constraint payment_amount_positive
        check (amount > 0 or (tombstone and amount = 0))`);
    this.addSql(`
      alter table payment add constraint payment_tombstone_holds_nothing check (
        not tombstone or (state = 'voided' and currency_code = 'XXX' and order_id = ''))`);
    // The resolver's query: overdue PENDING rows, oldest first.
    this.addSql(
      "create index payment_pending on payment (created_at) where state = 'pending'",
    );

    this.addSql(`
      create table ledger_transaction (
        ledger_transaction_id bigint generated always as identity primary key,
        payment_id uuid not null references payment (payment_id),
        -- Copied from the payment, so balances per order need no join.
        order_id text not null,
        kind text not null check (kind in ('authorize', 'capture', 'void', 'refund')),
        refund_id uuid references refund (refund_id),
        created_at timestamptz not null,
        constraint ledger_refund_iff_refund_kind check ((kind = 'refund') = (refund_id is not null))
      )`);
    this.addSql(
      'create index ledger_transaction_by_order on ledger_transaction (order_id)',
    );
    this.addSql(
      'create index ledger_transaction_by_payment on ledger_transaction (payment_id)',
    );
    this.addSql(`
      create table ledger_posting (
        ledger_posting_id bigint generated always as identity primary key,
        ledger_transaction_id bigint not null references ledger_transaction,
        account text not null
          check (account in ('customer_funds', 'authorized_holds', 'merchant_revenue')),
        currency_code text not null check (currency_code ~ '^[A-Z]{3}$'),
        amount numeric(24, 4) not null check (amount <> 0)
      )`);
    this.addSql(
      'create index ledger_posting_by_transaction on ledger_posting (ledger_transaction_id)',
    );
    // Checked at commit (deferred), once every posting of the transaction is in: each
    // ledger transaction a statement touched must still sum to zero in every currency
    // and have at least two postings. Inserts, updates and deletes all count, so a
    // removed posting is refused as well as an unbalanced new one.
    this.addSql(`
      create function ledger_assert_balanced(txid bigint) returns void
      language plpgsql set search_path from current as $$
      declare
        bad record;
      begin
        if not exists (select 1 from ledger_transaction where ledger_transaction_id = txid) then
          return;
        end if;
        select currency_code, sum(amount) as total into bad
          from ledger_posting where ledger_transaction_id = txid
         group by currency_code having sum(amount) <> 0 limit 1;
        if found then
          raise exception 'ledger transaction % does not balance: its % postings sum to %',
            txid, bad.currency_code, bad.total
            using errcode = '23514', constraint = 'ledger_transaction_balanced';
        end if;
        if (select count(*) from ledger_posting where ledger_transaction_id = txid) < 2 then
          raise exception 'ledger transaction % has fewer than two postings', txid
            using errcode = '23514', constraint = 'ledger_transaction_balanced';
        end if;
      end $$`);
    this.addSql(`
      create function ledger_posting_balanced() returns trigger
      language plpgsql set search_path from current as $$
      begin
        if tg_op <> 'INSERT' then
          perform ledger_assert_balanced(old.ledger_transaction_id);
        end if;
        if tg_op <> 'DELETE' then
          perform ledger_assert_balanced(new.ledger_transaction_id);
        end if;
        return null;
      end $$`);
    this.addSql(`
      create constraint trigger ledger_posting_balanced
        after insert or update or delete on ledger_posting
        deferrable initially deferred
        for each row execute function ledger_posting_balanced()`);
    this.addSql(`
      create function ledger_transaction_balanced() returns trigger
      language plpgsql set search_path from current as $$
      begin
        perform ledger_assert_balanced(new.ledger_transaction_id);
        return null;
      end $$`);
    this.addSql(`
      create constraint trigger ledger_transaction_balanced
        after insert on ledger_transaction
        deferrable initially deferred
        for each row execute function ledger_transaction_balanced()`);

    this.addSql(`
      create table sandbox_provider_key (
        idempotency_key text primary key,
        operation text not null check (operation in ('authorize', 'capture', 'void', 'refund')),
        -- SHA-256 of the request (the payment token only as its own hash).
        request_fingerprint text not null,
        answer jsonb not null,
        created_at timestamptz not null default now()
      )`);
  }
}
