/**
 * Payment reads: one payment, the payments of an order, the ledger's balances.
 */
import {UnknownPaymentError} from '../domain/errors.js';
import type {Payment, PaymentRecord} from '../domain/payment.js';
import {
  decodeScanCursor,
  encodeScanCursor,
} from '../../../common/paging/scan_cursor.js';
import type {
  LedgerBalances,
  LedgerCheck,
  LedgerFilter,
  PaymentStore,
} from './ports.js';
import type {ResolvePendingPayments} from './resolve_pending_payments.js';

export class ReadPayments {
  constructor(
    private readonly store: PaymentStore,
    private readonly pending: ResolvePendingPayments,
    /** How long a read waits for the answer of an authorization in flight (ms). */
    private readonly pendingWaitMs = 0,
    /** Seconds since Payment's oldest unpublished event was written (0 when none). */
    private readonly outboxLagSeconds: () => Promise<number> = async () => 0,
  ) {}

  /**
   * The payment (or tombstone), or NOT_FOUND. A payment PENDING past the cut-off is
   * resolved first, so a caller never waits on the periodic resolver; a fresh PENDING
   * one is waited for up to `pendingWaitMs`, so a saga's recovery usually gets a state
   * it can act on at the first ask.
   */
  async payment(paymentId: string): Promise<PaymentRecord> {
    const found = await this.pending.awaitOutcome(
      paymentId,
      this.pendingWaitMs,
    );
    if (!found) throw new UnknownPaymentError(paymentId);
    return found;
  }

  /** The order's payments, oldest first; empty (not NOT_FOUND) for an unknown order. */
  ofOrder(orderId: string): Promise<Payment[]> {
    return this.store.listByOrder(orderId);
  }

  /** The ledger's balances per account and currency, optionally of one order. */
  ledger(filter: LedgerFilter): Promise<LedgerBalances> {
    return this.store.ledgerBalances(filter);
  }

  /**
   * A page of payments for reconciliation, by update time, and the next page's token
   * (empty on the last page).
   */
  async scan(q: {
    updatedSince: Date | undefined;
    orderIds: readonly string[];
    pageSize: number;
    pageToken: string;
  }): Promise<{payments: Payment[]; next: string}> {
    const limit = q.pageSize || 200;
    const rows = await this.store.scan({
      updatedSince: q.updatedSince,
      orderIds: q.orderIds,
      after: decodeScanCursor(q.pageToken),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      payments: page,
      next:
        rows.length > limit && last
          ? encodeScanCursor({updatedAt: last.updatedAt, id: last.id})
          : '',
    };
  }

  /** The ledger's double-entry check (at most 100 offenders listed) and the outbox lag. */
  async checkLedger(): Promise<LedgerCheck & {outboxLagSeconds: number}> {
    const [check, lag] = await Promise.all([
      this.store.checkLedger(100),
      this.outboxLagSeconds(),
    ]);
    return {...check, outboxLagSeconds: lag};
  }
}
