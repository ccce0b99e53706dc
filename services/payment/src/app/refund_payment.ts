/**
 * RefundPayment: pay back all or part of what was captured.
 */
import {IdempotencyConflictError} from '../../../common/errors/domain_error.js';
import type {Money} from '../../../common/money/money.js';
import type {Payment, Refund} from '../domain/payment.js';
import {refundKey} from './provider_keys.js';
import {lockedPayment} from './locked_payment.js';
import type {Clock, PaymentProvider, PaymentStore} from './ports.js';

export interface RefundPaymentCommand {
  paymentId: string;
  refundId: string;
  /** Undefined refunds everything not yet refunded. */
  amount?: Money;
  reason: string;
}

export interface RefundPaymentResult {
  payment: Payment;
  /** The refund made, or on a retry the one made before. */
  refund: Refund;
}

export class RefundPayment {
  constructor(
    private readonly store: PaymentStore,
    private readonly provider: PaymentProvider,
    private readonly clock: Clock,
  ) {}

  /**
   * Refunds once per refund id. The payment row is locked for the whole transaction, so
   * concurrent refunds of one payment apply one after the other and together never
   * exceed the captured amount. The refund row is written before the provider call: it
   * takes the refund id, so a concurrent reuse of the id on another payment waits and
   * then fails instead of paying money back that would never be recorded.
   */
  async execute(cmd: RefundPaymentCommand): Promise<RefundPaymentResult> {
    cmd.amount?.assertChargeable('amount');
    const now = this.clock.now();
    return this.store.tx(async tx => {
      const payment = lockedPayment(
        await tx.lock(cmd.paymentId),
        cmd.paymentId,
        'refunded',
      );
      const {refund, created} = payment.refund(
        {refundId: cmd.refundId, amount: cmd.amount, reason: cmd.reason},
        now,
      );
      if (!created) return {payment, refund};
      if (!(await tx.claimRefund(payment.id, refund))) {
        throw new IdempotencyConflictError('refund_id', cmd.refundId);
      }
      const {reference} = await this.provider.refund({
        idempotencyKey: refundKey(payment.id, refund.refundId),
        authorizationReference: payment.providerReference,
        amount: refund.amount,
      });
      await tx.save(payment, {
        operation: 'refund',
        refundId: refund.refundId,
        reference,
      });
      return {payment, refund};
    });
  }
}
