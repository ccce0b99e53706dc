/**
 * The payment a capture or refund works on, from what the store locked under its id.
 */
import {
  IllegalPaymentTransitionError,
  UnknownPaymentError,
} from '../domain/errors.js';
import {Payment, type PaymentRecord} from '../domain/payment.js';

/**
 * `record` as a payment, or NOT_FOUND for an id never seen, or FAILED_PRECONDITION for
 * a tombstone (an id voided before any authorization: there is nothing to capture or
 * refund, ever).
 */
export function lockedPayment(
  record: PaymentRecord | undefined,
  paymentId: string,
  operation: string,
): Payment {
  if (!record) throw new UnknownPaymentError(paymentId);
  if (record instanceof Payment) return record;
  throw new IllegalPaymentTransitionError(
    paymentId,
    'voided',
    operation,
    'it was voided before any authorization, so nothing was charged',
  );
}
