/**
 * CapturePayment: charge all or part of an authorization, once.
 */
import type {Money} from '../../../common/money/money.js';
import type {Payment} from '../domain/payment.js';
import {captureKey} from './provider_keys.js';
import {lockedPayment} from './locked_payment.js';
import type {Clock, PaymentProvider, PaymentStore} from './ports.js';

export interface CapturePaymentCommand {
  paymentId: string;
  /** Undefined captures the whole authorized amount. */
  amount?: Money;
}

export class CapturePayment {
  constructor(
    private readonly store: PaymentStore,
    private readonly provider: PaymentProvider,
    private readonly clock: Clock,
  ) {}

  /**
   * Captures and returns the payment; a repeat of the same capture returns it unchanged.
   *
   * The provider is called while the payment row is locked: that is what stops two
   * concurrent captures from both seeing AUTHORIZED and both charging. The cost is a
   * database connection held for the provider's latency. If the process dies after the
   * provider charged but before the commit, the payment is still AUTHORIZED here; the
   * retry sends the same idempotency key and the provider answers with the first capture
   * instead of charging again.
   */
  async execute(cmd: CapturePaymentCommand): Promise<Payment> {
    cmd.amount?.assertChargeable('amount');
    const now = this.clock.now();
    return this.store.tx(async tx => {
      const payment = lockedPayment(
        await tx.lock(cmd.paymentId),
        cmd.paymentId,
        'captured',
      );
      if (!payment.capture(cmd.amount, now)) return payment;
      const {reference} = await this.provider.capture({
        idempotencyKey: captureKey(payment.id),
        authorizationReference: payment.providerReference,
        amount: payment.capturedAmount,
      });
      await tx.save(payment, {operation: 'capture', reference});
      return payment;
    });
  }
}
