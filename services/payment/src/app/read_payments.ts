/**
 * Payment reads: one payment, or the payments of an order.
 */
import {UnknownPaymentError} from '../domain/errors.js';
import type {Payment} from '../domain/payment.js';
import type {PaymentStore} from './ports.js';

export class ReadPayments {
  constructor(private readonly store: PaymentStore) {}

  /** The payment, or NOT_FOUND. */
  async payment(paymentId: string): Promise<Payment> {
    const found = await this.store.find(paymentId);
    if (!found) throw new UnknownPaymentError(paymentId);
    return found;
  }

  /** The order's payments, oldest first; empty (not NOT_FOUND) for an unknown order. */
  ofOrder(orderId: string): Promise<Payment[]> {
    return this.store.listByOrder(orderId);
  }
}
