/**
 * PaymentStore on PostgreSQL. Mutations lock the payment row (`for update`) for the
 * whole use case, so two captures or refunds of one payment run one after the other;
 * the table's CHECK constraints back the aggregate's rules. Events go to the outbox and
 * ledger entries to the ledger in the same transaction as the change they describe (the
 * ledger's balance trigger checks them at commit).
 */
import type {Database, Sql} from '../../../common/db/database.js';
import type {OutgoingEvent} from '../../../common/messaging/event_bus.js';
import {Money} from '../../../common/money/money.js';
import {appendToOutbox} from '../../../common/outbox/outbox.js';
import type {
  LedgerBalances,
  LedgerCheck,
  LedgerFilter,
  PaymentStore,
  PaymentTx,
  ProviderReceipt,
} from '../app/ports.js';
import type {LedgerAccount, LedgerEntry} from '../domain/ledger.js';
import {
  scanCondition,
  type ScanQuery,
} from '../../../common/paging/scan_cursor.js';
import {
  Payment,
  VoidTombstone,
  type PaymentEvent,
  type PaymentRecord,
  type PaymentState,
  type Refund,
} from '../domain/payment.js';

/**
 * Encodes a payment event for the outbox (the wire format lives in
 * events/payment_events.ts).
 */
export type PaymentEventEncoder = (
  payment: Payment,
  event: PaymentEvent,
) => OutgoingEvent;

interface PaymentRow {
  payment_id: string;
  order_id: string;
  state: PaymentState;
  currency_code: string;
  // NUMERIC columns arrive as strings (see common/db/database.ts).
  amount: string;
  captured_amount: string;
  refunded_amount: string;
  decline_code: string;
  provider: string;
  provider_reference: string;
  request_fingerprint: string;
  tombstone: boolean;
  created_at: Date;
  updated_at: Date;
  refunds: Array<{
    refund_id: string;
    amount: string;
    reason: string;
    created_at: string;
  }> | null;
}

// Amounts are cast to text inside the JSON: a NUMERIC would become a JSON number, and
// JSON.parse would turn it into a binary float.
const SELECT_PAYMENT = `
  select p.payment_id, p.order_id, p.state, p.currency_code, p.amount, p.captured_amount,
         p.refunded_amount, p.decline_code, p.provider, p.provider_reference,
         p.request_fingerprint, p.tombstone, p.created_at, p.updated_at,
         (select json_agg(json_build_object('refund_id', r.refund_id, 'amount', r.amount::text,
                   'reason', r.reason, 'created_at', r.created_at) order by r.seq)
            from refund r where r.payment_id = p.payment_id) as refunds
    from payment p`;

function toRecord(row: PaymentRow): PaymentRecord {
  return row.tombstone
    ? new VoidTombstone(row.payment_id, row.created_at)
    : toPayment(row);
}

function toPayment(row: PaymentRow): Payment {
  const currency = row.currency_code;
  return Payment.restore({
    id: row.payment_id,
    orderId: row.order_id,
    state: row.state,
    amount: Money.of(row.amount, currency),
    capturedAmount: Money.of(row.captured_amount, currency),
    refundedAmount: Money.of(row.refunded_amount, currency),
    declineCode: row.decline_code,
    provider: row.provider,
    providerReference: row.provider_reference,
    refunds: (row.refunds ?? []).map((r): Refund => ({
      refundId: r.refund_id,
      amount: Money.of(r.amount, currency),
      reason: r.reason,
      createdAt: new Date(r.created_at),
    })),
    requestFingerprint: row.request_fingerprint,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}

/** The exact decimal string of an amount, for a NUMERIC parameter. */
function numeric(money: Money): string {
  return money.amount.toFixed();
}

class PgPaymentTx implements PaymentTx {
  /** How much of each saved payment's events and ledger entries is written. */
  private readonly written = new WeakMap<
    Payment,
    {events: number; entries: number}
  >();

  constructor(
    private readonly sql: Sql,
    private readonly encode: PaymentEventEncoder,
  ) {}

  async lock(paymentId: string): Promise<PaymentRecord | undefined> {
    const [row] = await this.sql.query<PaymentRow>(
      `${SELECT_PAYMENT} where p.payment_id = $1 for update of p`,
      [paymentId],
    );
    return row && toRecord(row);
  }

  async insertTombstone(tombstone: VoidTombstone): Promise<boolean> {
    // A concurrent insert of the id (an authorization's PENDING row) blocks this one
    // until it commits; then this inserts nothing and the caller locks that row.
    const inserted = await this.sql.execute(
      `insert into payment (payment_id, order_id, state, currency_code, amount, provider,
                            request_fingerprint, tombstone, created_at, updated_at)
       values ($1, '', 'voided', 'XXX', 0, '', '', true, $2, $2)
       on conflict (payment_id) do nothing`,
      [tombstone.id, tombstone.createdAt],
    );
    return inserted > 0;
  }

  async replaceTombstone(payment: Payment): Promise<void> {
    const p = payment.snapshot();
    await this.sql.execute(
      `update payment set order_id = $2, state = $3, currency_code = $4, amount = $5::numeric,
                          decline_code = $6, provider = $7, provider_reference = $8,
                          request_fingerprint = $9, updated_at = $10, tombstone = false
        where payment_id = $1 and tombstone`,
      [
        p.id,
        p.orderId,
        p.state,
        p.amount.currencyCode,
        numeric(p.amount),
        p.declineCode,
        p.provider,
        p.providerReference,
        p.requestFingerprint,
        p.updatedAt,
      ],
    );
    await this.writeNew(payment);
  }

  async claimRefund(paymentId: string, refund: Refund): Promise<boolean> {
    // A concurrent insert of the same refund id blocks here until its transaction ends;
    // then this one inserts (it rolled back) or does nothing (it committed).
    const inserted = await this.sql.execute(
      `insert into refund (refund_id, payment_id, amount, reason, created_at)
       values ($1, $2, $3::numeric, $4, $5) on conflict (refund_id) do nothing`,
      [
        refund.refundId,
        paymentId,
        numeric(refund.amount),
        refund.reason,
        refund.createdAt,
      ],
    );
    return inserted > 0;
  }

  async save(payment: Payment, receipt?: ProviderReceipt): Promise<void> {
    const p = payment.snapshot();
    // One statement for the state and the capture or void receipt.
    await this.sql.execute(
      `update payment set state = $2, captured_amount = $3::numeric, refunded_amount = $4::numeric,
                          updated_at = $5, capture_reference = coalesce($6, capture_reference),
                          void_reference = coalesce($7, void_reference),
                          provider_reference = $8, decline_code = $9
        where payment_id = $1`,
      [
        p.id,
        p.state,
        numeric(p.capturedAmount),
        numeric(p.refundedAmount),
        p.updatedAt,
        receipt?.operation === 'capture' ? receipt.reference : null,
        receipt?.operation === 'void' ? receipt.reference : null,
        p.providerReference,
        p.declineCode,
      ],
    );
    if (receipt?.operation === 'refund') {
      await this.sql.execute(
        'update refund set provider_reference = $3 where refund_id = $1 and payment_id = $2',
        [receipt.refundId, p.id, receipt.reference],
      );
    }
    await this.writeNew(payment);
  }

  /**
   * Writes the events and ledger entries `payment` recorded since it was last saved in
   * this transaction: a use case may save one object twice (VoidPayment saves what the
   * resolver recorded, then the void), and each must be written once.
   */
  private async writeNew(payment: Payment): Promise<void> {
    const done = this.written.get(payment) ?? {events: 0, entries: 0};
    await appendToOutbox(
      this.sql,
      payment.events
        .slice(done.events)
        .map(event => this.encode(payment, event)),
    );
    await writeLedger(
      this.sql,
      payment.ledgerEntries.slice(done.entries),
      payment,
    );
    this.written.set(payment, {
      events: payment.events.length,
      entries: payment.ledgerEntries.length,
    });
  }
}

/**
 * The payment's new ledger entries: one ledger_transaction and its postings per entry,
 * each in one statement. The balance trigger checks them at commit.
 */
async function writeLedger(
  sql: Sql,
  entries: readonly LedgerEntry[],
  payment: Payment,
): Promise<void> {
  for (const entry of entries) {
    await sql.execute(
      `with t as (
         insert into ledger_transaction (payment_id, order_id, kind, refund_id, created_at)
         values ($1, $2, $3, $4, $5) returning ledger_transaction_id)
       insert into ledger_posting (ledger_transaction_id, account, currency_code, amount)
       select t.ledger_transaction_id, u.account, $6, u.amount
         from t, unnest($7::text[], $8::numeric[]) as u(account, amount)`,
      [
        payment.id,
        payment.orderId,
        entry.kind,
        entry.refundId ?? null,
        payment.updatedAt,
        payment.amount.currencyCode,
        entry.postings.map(p => p.account),
        entry.postings.map(p => numeric(p.amount)),
      ],
    );
  }
}

export class PgPaymentStore implements PaymentStore {
  constructor(
    private readonly db: Database,
    private readonly encode: PaymentEventEncoder,
    /** Called after a transaction that wrote outbox rows committed. */
    private readonly afterCommit: () => void = () => {},
  ) {}

  async tx<T>(work: (tx: PaymentTx) => Promise<T>): Promise<T> {
    let wroteEvents = false;
    const result = await this.db.tx(sql =>
      work(
        new PgPaymentTx(sql, (payment, event) => {
          wroteEvents = true;
          return this.encode(payment, event);
        }),
      ),
    );
    if (wroteEvents) this.afterCommit();
    return result;
  }

  async insertPending(payment: Payment): Promise<boolean> {
    // One statement, no transaction: the hot path's first write. A PENDING payment has
    // no event and no ledger entry yet (nothing is known to have happened).
    const p = payment.snapshot();
    const inserted = await this.db.execute(
      `insert into payment (payment_id, order_id, state, currency_code, amount, provider,
                            request_fingerprint, created_at, updated_at)
       values ($1, $2, $3, $4, $5::numeric, $6, $7, $8, $9)
       on conflict (payment_id) do nothing`,
      [
        p.id,
        p.orderId,
        p.state,
        p.amount.currencyCode,
        numeric(p.amount),
        p.provider,
        p.requestFingerprint,
        p.createdAt,
        p.updatedAt,
      ],
    );
    return inserted > 0;
  }

  async find(paymentId: string): Promise<PaymentRecord | undefined> {
    const [row] = await this.db.query<PaymentRow>(
      `${SELECT_PAYMENT} where p.payment_id = $1`,
      [paymentId],
    );
    return row && toRecord(row);
  }

  async listByOrder(orderId: string): Promise<Payment[]> {
    const rows = await this.db.query<PaymentRow>(
      `${SELECT_PAYMENT} where p.order_id = $1 and not p.tombstone
        order by p.created_at, p.payment_id`,
      [orderId],
    );
    return rows.map(toPayment);
  }

  async pendingBefore(before: Date, limit: number): Promise<string[]> {
    const rows = await this.db.query<{payment_id: string}>(
      `select payment_id from payment where state = 'pending' and created_at < $1
        order by created_at limit $2`,
      [before, limit],
    );
    return rows.map(r => r.payment_id);
  }

  async ledgerBalances(filter: LedgerFilter): Promise<LedgerBalances> {
    const params = [filter.orderId || null, filter.currencyCode || null];
    const where = `($1::text is null or t.order_id = $1)
                   and ($2::text is null or lp.currency_code = $2)`;
    const rows = await this.db.query<{
      account: LedgerAccount;
      currency_code: string;
      balance: string;
    }>(
      `select lp.account, lp.currency_code, sum(lp.amount)::text as balance
         from ledger_posting lp
         join ledger_transaction t using (ledger_transaction_id)
        where ${where}
        group by lp.currency_code, lp.account
        order by lp.currency_code, lp.account`,
      params,
    );
    const [count] = await this.db.query<{n: string}>(
      `select count(distinct t.ledger_transaction_id) as n
         from ledger_transaction t
         join ledger_posting lp using (ledger_transaction_id)
        where ${where}`,
      params,
    );
    return {
      balances: rows.map(r => ({
        account: r.account,
        balance: Money.of(r.balance, r.currency_code),
      })),
      transactionCount: Number(count.n),
    };
  }

  async scan(q: ScanQuery): Promise<Payment[]> {
    const c = scanCondition(q, 'p', 'payment_id');
    const rows = await this.db.query<PaymentRow>(
      `${SELECT_PAYMENT} where not p.tombstone and ${c.where}
        order by ${c.order} limit $${c.params.length + 1}`,
      [...c.params, q.limit],
    );
    return rows.map(toPayment);
  }

  // A full pass over the ledger: fine at the reconciler's once a minute for ledgers of
  // millions of postings; a larger one would check only transactions since the last pass.
  async checkLedger(limit: number): Promise<LedgerCheck> {
    const bad = `
      with per_currency as (
        select t.ledger_transaction_id as id, t.payment_id, t.order_id, t.kind,
               lp.currency_code, coalesce(sum(lp.amount), 0) as total,
               count(lp.ledger_posting_id) as postings
          from ledger_transaction t
          left join ledger_posting lp using (ledger_transaction_id)
         group by t.ledger_transaction_id, lp.currency_code),
      per_tx as (select id, sum(postings)::int as n from per_currency group by id)
      select p.*, x.n from per_currency p join per_tx x using (id)
       where p.total <> 0 or x.n < 2`;
    const rows = await this.db.query<{
      id: string;
      payment_id: string;
      order_id: string;
      kind: string;
      currency_code: string | null;
      total: string;
      n: number;
    }>(
      `select id::text, payment_id, order_id, kind, currency_code, total::text, n
         from (${bad}) b order by b.id limit $1`,
      [limit],
    );
    const [count] = await this.db.query<{n: string; all: string}>(
      `select (select count(distinct id) from (${bad}) b) as n,
              (select count(*) from ledger_transaction) as all`,
    );
    const totals = await this.db.query<{currency_code: string; total: string}>(
      `select currency_code, sum(amount)::text as total from ledger_posting
        group by currency_code order by currency_code`,
    );
    return {
      unbalanced: rows.map(r => ({
        transactionId: r.id,
        paymentId: r.payment_id,
        orderId: r.order_id,
        kind: r.kind,
        sum: r.currency_code ? Money.of(r.total, r.currency_code) : undefined,
        postingCount: r.n,
      })),
      unbalancedCount: Number(count.n),
      totals: totals.map(t => Money.of(t.total, t.currency_code)),
      transactionCount: Number(count.all),
    };
  }
}
