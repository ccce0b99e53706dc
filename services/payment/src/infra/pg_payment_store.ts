/**
 * PaymentStore on PostgreSQL. Mutations lock the payment row (`for update`) for the
 * whole use case, so two captures or refunds of one payment run one after the other;
 * the table's CHECK constraints back the aggregate's rules. Events go to the outbox in
 * the same transaction as the change they describe.
 */
import type {Database, Sql} from '../../../common/db/database.js';
import type {OutgoingEvent} from '../../../common/messaging/event_bus.js';
import {Money} from '../../../common/money/money.js';
import {
  appendToOutbox,
  outboxInsertSql,
  outboxParams,
} from '../../../common/outbox/outbox.js';
import type {PaymentStore, PaymentTx, ProviderReceipt} from '../app/ports.js';
import {
  Payment,
  type PaymentEvent,
  type PaymentState,
  type Refund,
} from '../domain/payment.js';

/** Encodes a payment event for the outbox (the wire format lives in rpc/mapper.ts). */
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
         p.request_fingerprint, p.created_at, p.updated_at,
         (select json_agg(json_build_object('refund_id', r.refund_id, 'amount', r.amount::text,
                   'reason', r.reason, 'created_at', r.created_at) order by r.seq)
            from refund r where r.payment_id = p.payment_id) as refunds
    from payment p`;

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
  constructor(
    private readonly sql: Sql,
    private readonly encode: PaymentEventEncoder,
  ) {}

  async lock(paymentId: string): Promise<Payment | undefined> {
    const [row] = await this.sql.query<PaymentRow>(
      `${SELECT_PAYMENT} where p.payment_id = $1 for update of p`,
      [paymentId],
    );
    return row && toPayment(row);
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
                          void_reference = coalesce($7, void_reference)
        where payment_id = $1`,
      [
        p.id,
        p.state,
        numeric(p.capturedAmount),
        numeric(p.refundedAmount),
        p.updatedAt,
        receipt?.operation === 'capture' ? receipt.reference : null,
        receipt?.operation === 'void' ? receipt.reference : null,
      ],
    );
    if (receipt?.operation === 'refund') {
      await this.sql.execute(
        'update refund set provider_reference = $3 where refund_id = $1 and payment_id = $2',
        [receipt.refundId, p.id, receipt.reference],
      );
    }
    await this.queueEvents(payment);
  }

  private async queueEvents(payment: Payment): Promise<void> {
    await appendToOutbox(
      this.sql,
      payment.events.map(event => this.encode(payment, event)),
    );
  }
}

/**
 * A new payment and its events in one statement: atomic on its own, so the hot path
 * (every order's sale) needs no BEGIN/COMMIT round trips.
 */
async function insertPayment(
  sql: Sql,
  encode: PaymentEventEncoder,
  payment: Payment,
  captureReference: string | undefined,
): Promise<boolean> {
  const p = payment.snapshot();
  const events = payment.events.map(event => encode(payment, event));
  const [row] = await sql.query<{inserted: string}>(
    `with ins as (
       insert into payment (payment_id, order_id, state, currency_code, amount, decline_code,
                            provider, provider_reference, request_fingerprint, created_at, updated_at,
                            captured_amount, capture_reference)
       values ($1, $2, $3, $4, $5::numeric, $6, $7, $8, $9, $10, $11, $12::numeric, $13)
       on conflict (payment_id) do nothing
       returning 1),
     ev as (${outboxInsertSql(14, 'where exists (select 1 from ins)')} returning 1)
     select (select count(*) from ins) as inserted`,
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
      p.createdAt,
      p.updatedAt,
      numeric(p.capturedAmount),
      captureReference ?? '',
      ...outboxParams(events),
    ],
  );
  return row.inserted !== '0';
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

  async insert(payment: Payment, captureReference?: string): Promise<boolean> {
    const inserted = await insertPayment(
      this.db,
      this.encode,
      payment,
      captureReference,
    );
    if (inserted && payment.events.length > 0) this.afterCommit();
    return inserted;
  }

  async find(paymentId: string): Promise<Payment | undefined> {
    const [row] = await this.db.query<PaymentRow>(
      `${SELECT_PAYMENT} where p.payment_id = $1`,
      [paymentId],
    );
    return row && toPayment(row);
  }

  async listByOrder(orderId: string): Promise<Payment[]> {
    const rows = await this.db.query<PaymentRow>(
      `${SELECT_PAYMENT} where p.order_id = $1 order by p.created_at, p.payment_id`,
      [orderId],
    );
    return rows.map(toPayment);
  }
}
