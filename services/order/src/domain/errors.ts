/** Order's domain errors. */
import {
  ConcurrentRequestError,
  DomainError,
  InvalidArgumentError,
} from '../../../common/errors/domain_error.js';

/** Inventory could not hold a line; the message (from Inventory) names the SKU. */
export class StockShortageError extends DomainError {
  constructor(message: string, details: Record<string, string> = {}) {
    // Inventory's reason: the buyer's client reads one reason for "not enough stock".
    super('failed_precondition', message, details, {reason: 'OUT_OF_STOCK'});
  }
}

/** A repeat of a CreateOrder whose first call is still running. */
export class OrderInProgressError extends ConcurrentRequestError {
  constructor(requestId: string, orderId: string) {
    super(
      `order ${orderId} for request_id ${requestId} is still being placed; retry in a moment`,
      {requestId, orderId},
    );
  }
}

/** Rejects a basket that names a SKU twice. */
export function checkUniqueSkus(lines: ReadonlyArray<{sku: string}>): void {
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    if (seen.has(line.sku)) {
      throw new InvalidArgumentError(
        `lines[${i}].sku`,
        `SKU ${line.sku} appears more than once; send one line with the total quantity`,
      );
    }
    seen.add(line.sku);
  });
}

/**
 * Payment cannot tell yet whether a charge took money (its answer was lost and the
 * provider has not been asked yet): the undo must stay pending and be retried later,
 * never be closed as "nothing charged".
 */
export class PaymentOutcomeUnknownError extends ConcurrentRequestError {
  constructor(paymentId: string) {
    super(`the outcome of payment ${paymentId} is not known yet; retry later`, {
      paymentId,
    });
  }
}

/** The payment was captured, so it cannot be voided: it must be refunded. */
export class PaymentCapturedError extends DomainError {
  constructor(paymentId: string) {
    super('failed_precondition', `payment ${paymentId} is captured`, {
      paymentId,
    });
  }
}
