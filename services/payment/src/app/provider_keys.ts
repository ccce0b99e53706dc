/**
 * Idempotency keys of provider calls, derived from the client-chosen ids so that every
 * retry of one operation (by the client, or by us after a crash) sends the same key and
 * the provider moves money at most once. Each operation gets its own key space: a
 * payment's capture and void must never be taken for one another.
 */

export function authorizeKey(paymentId: string): string {
  return `${paymentId}:authorize`;
}

/** One capture per payment: a payment id names it. */
export function captureKey(paymentId: string): string {
  return `${paymentId}:capture`;
}

export function voidKey(paymentId: string): string {
  return `${paymentId}:void`;
}

export function refundKey(paymentId: string, refundId: string): string {
  return `${paymentId}:refund:${refundId}`;
}
