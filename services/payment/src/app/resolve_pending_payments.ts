/**
 * Resolves PENDING payments: the ones whose provider answer Payment never recorded
 * (the answer was lost, or the process died between the provider call and the row
 * update). Past the cut-off, which lies beyond the longest time an authorization can
 * take here, no request of ours can still be waiting for the provider, so its answer is
 * final: ask the provider what it did under the payment's idempotency keys and record
 * that. Runs periodically, and on demand when GetPayment or VoidPayment meets such a row.
 *
 * Within the cut-off a PENDING payment is an authorization still in flight (it runs to
 * its end even when its caller left, see AuthorizePayment), so its answer is normally a
 * provider call away: lookups wait for it briefly (awaitOutcome) instead of answering
 * "unknown" to a caller that would then have to come back later. Asking the provider
 * early is no shortcut: a key it has not received yet may still arrive and be charged.
 */
import {NOT_RECEIVED_BY_PROVIDER, Payment} from '../domain/payment.js';
import type {PaymentRecord} from '../domain/payment.js';
import {InternalInvariantError} from '../domain/errors.js';
import {authorizeKey, captureKey} from './provider_keys.js';
import type {
  Clock,
  PaymentProvider,
  PaymentStore,
  PaymentTx,
  ProviderReceipt,
} from './ports.js';

/** How often awaitOutcome looks at a PENDING row again. */
const POLL_MS = 50;

export class ResolvePendingPayments {
  constructor(
    private readonly store: PaymentStore,
    private readonly provider: PaymentProvider,
    private readonly clock: Clock,
    /** How long a payment may stay PENDING before the provider is asked (ms). */
    readonly cutoffMs: number,
  ) {}

  /**
   * The payment with its outcome known where that can be had within `waitMs`: a fresh
   * PENDING payment is polled until its authorization records the answer, one past
   * the cut-off is resolved. Still PENDING after `waitMs` means an authorization that
   * is slow or died with its process; the resolver settles it at the cut-off.
   */
  async awaitOutcome(
    paymentId: string,
    waitMs: number,
  ): Promise<PaymentRecord | undefined> {
    for (let waited = 0; ; waited += POLL_MS) {
      const found = await this.store.find(paymentId);
      if (!(found instanceof Payment) || found.state !== 'pending')
        return found;
      if (this.isOverdue(found)) return this.one(paymentId);
      if (waited >= waitMs) return found;
      await new Promise(resolve => setTimeout(resolve, POLL_MS));
    }
  }

  /** True when `record` is PENDING and older than the cut-off. */
  isOverdue(record: PaymentRecord): record is Payment {
    return (
      record instanceof Payment &&
      record.state === 'pending' &&
      this.clock.now().getTime() - record.createdAt.getTime() >= this.cutoffMs
    );
  }

  /** Resolves one payment if it is overdue; returns what is stored afterwards. */
  async one(paymentId: string): Promise<PaymentRecord | undefined> {
    return this.store.tx(async tx => {
      const record = await tx.lock(paymentId);
      if (record && this.isOverdue(record)) await this.locked(tx, record);
      return record;
    });
  }

  /** One pass over the overdue payments, oldest first; how many were resolved. */
  async pass(limit = 100): Promise<number> {
    const before = new Date(this.clock.now().getTime() - this.cutoffMs);
    let resolved = 0;
    for (const id of await this.store.pendingBefore(before, limit)) {
      const after = await this.one(id);
      if (after && after.state !== 'pending') resolved++;
    }
    return resolved;
  }

  /**
   * Asks the provider and records its answer on `payment`, which the caller has locked
   * and found overdue. A key the provider never received means the authorization never
   * reached it: nothing was held, and the payment is declined as not received. An
   * approved authorization whose sale capture went through becomes CAPTURED (a PENDING
   * payment is only ever captured by the sale of AuthorizePayment, which captures the
   * whole amount).
   */
  async locked(tx: PaymentTx, payment: Payment): Promise<void> {
    const now = this.clock.now();
    const auth = await this.provider.lookup(authorizeKey(payment.id));
    if (!auth) {
      payment.settle(
        {approved: false, reference: '', declineCode: NOT_RECEIVED_BY_PROVIDER},
        now,
      );
      await tx.save(payment);
      return;
    }
    if (auth.operation !== 'authorize') {
      throw new InternalInvariantError(
        `provider key of payment ${payment.id}'s authorization holds a ${auth.operation}`,
      );
    }
    payment.settle(auth.result, now);
    let receipt: ProviderReceipt | undefined;
    if (auth.result.approved) {
      const capture = await this.provider.lookup(captureKey(payment.id));
      if (capture?.operation === 'capture') {
        payment.capture(undefined, now);
        receipt = {operation: 'capture', reference: capture.reference};
      }
    }
    await tx.save(payment, receipt);
  }
}
