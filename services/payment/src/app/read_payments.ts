/**
 * Payment reads: one payment, the payments of an order, the ledger's balances.
 */
import {UnknownPaymentError} from '../domain/errors.js';
import type {Payment, PaymentRecord} from '../domain/payment.js';
import type {LedgerBalances, LedgerFilter, PaymentStore} from './ports.js';
import type {ResolvePendingPayments} from './resolve_pending_payments.js';

export class ReadPayments {
  constructor(
    private readonly store: PaymentStore,
    private readonly pending: ResolvePendingPayments,
    /** How long a read waits for the answer of an authorization in flight (ms). */
    private readonly pendingWaitMs = 0,
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
}
