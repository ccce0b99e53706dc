/**
 * VoidPayment: make sure a payment charges nothing.
 */
import {ConcurrentRequestError} from '../../../common/errors/domain_error.js';
import {VoidTombstone, type PaymentRecord} from '../domain/payment.js';
import {voidKey} from './provider_keys.js';
import type {Clock, PaymentProvider, PaymentStore} from './ports.js';
import type {ResolvePendingPayments} from './resolve_pending_payments.js';

export class VoidPayment {
  constructor(
    private readonly store: PaymentStore,
    private readonly provider: PaymentProvider,
    private readonly clock: Clock,
    private readonly pending: ResolvePendingPayments,
    /** How long a void waits for the answer of an authorization in flight (ms). */
    private readonly pendingWaitMs = 0,
  ) {}

  /**
   * Voids and returns the payment. A payment id never seen gets a VOIDED tombstone, so
   * an authorization that arrives late (the caller gave up on it) declines instead of
   * charging. A PENDING payment past the cut-off is resolved first; a fresh one is
   * waited for up to `pendingWaitMs` (its authorization runs to its end, so the answer
   * is usually that close); still PENDING after that, the outcome is unknown and this
   * throws PaymentOutcomeUnknownError (ABORTED) for the caller to retry. Idempotent:
   * VOIDED and DECLINED payments come back unchanged, with no provider call. The row
   * stays locked across the provider call so a concurrent capture cannot charge what is
   * being released (see CapturePayment).
   */
  async execute(paymentId: string): Promise<PaymentRecord> {
    // Outside the transaction: no connection or row lock is held while waiting.
    await this.pending.awaitOutcome(paymentId, this.pendingWaitMs);
    const now = this.clock.now();
    return this.store.tx(async tx => {
      let record = await tx.lock(paymentId);
      if (!record) {
        const tombstone = new VoidTombstone(paymentId, now);
        if (await tx.insertTombstone(tombstone)) return tombstone;
        // A concurrent authorization or void inserted the id first; it has committed
        // (the insert waited for it), so this lock sees its row.
        record = await tx.lock(paymentId);
        if (!record) {
          throw new ConcurrentRequestError(
            `payment ${paymentId} is being created by another request; retry`,
            {paymentId},
          );
        }
      }
      if (record instanceof VoidTombstone) return record;
      const payment = record;
      if (this.pending.isOverdue(payment))
        await this.pending.locked(tx, payment);
      if (!payment.void(now)) return payment;
      const {reference} = await this.provider.void({
        idempotencyKey: voidKey(payment.id),
        authorizationReference: payment.providerReference,
      });
      await tx.save(payment, {operation: 'void', reference});
      return payment;
    });
  }
}
