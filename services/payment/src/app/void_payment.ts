/**
 * VoidPayment: cancel an authorization before capture.
 */
import {UnknownPaymentError} from '../domain/errors.js';
import type {Payment} from '../domain/payment.js';
import {voidKey} from './provider_keys.js';
import type {Clock, PaymentProvider, PaymentStore} from './ports.js';

export class VoidPayment {
  constructor(
    private readonly store: PaymentStore,
    private readonly provider: PaymentProvider,
    private readonly clock: Clock,
  ) {}

  /**
   * Voids and returns the payment. Idempotent: VOIDED and DECLINED payments come back
   * unchanged, with no provider call. The row stays locked across the provider call so a
   * concurrent capture cannot charge what is being released (see CapturePayment).
   */
  async execute(paymentId: string): Promise<Payment> {
    const now = this.clock.now();
    return this.store.tx(async tx => {
      const payment = await tx.lock(paymentId);
      if (!payment) throw new UnknownPaymentError(paymentId);
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
