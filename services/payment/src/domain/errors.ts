/** Payment's domain errors. */
import {
  DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '../../../common/errors/domain_error.js';

export class UnknownPaymentError extends NotFoundError {
  constructor(paymentId: string) {
    super('payment', paymentId);
  }
}

/**
 * The payment's state does not allow the operation. The message names the payment, its
 * state and, where there is one, what to do instead.
 */
export class IllegalPaymentTransitionError extends FailedPreconditionError {
  constructor(paymentId: string, state: string, operation: string, hint = '') {
    super(
      `payment ${paymentId} is ${state.toUpperCase()} and cannot be ${operation}${hint ? `: ${hint}` : ''}`,
      {paymentId, state: state.toUpperCase()},
    );
  }
}

/** An amount is more than the payment allows (capture over the hold, refund over what is left). */
export class AmountExceedsError extends FailedPreconditionError {
  constructor(
    paymentId: string,
    operation: string,
    requested: string,
    allowed: string,
  ) {
    super(
      `payment ${paymentId}: cannot ${operation} ${requested}; at most ${allowed} is left to ${operation}`,
      {paymentId, requested, allowed},
    );
  }
}

/** A capture or refund in another currency than the payment's. */
export class PaymentCurrencyError extends InvalidArgumentError {
  constructor(paymentId: string, expected: string, got: string) {
    super(
      'amount.currency_code',
      `payment ${paymentId} is in ${expected}, got ${got}`,
    );
  }
}

/**
 * The payment is PENDING: Payment asked the provider and does not know the answer yet,
 * so it cannot say whether there is anything to void, capture or refund. ABORTED with
 * ErrorInfo reason PAYMENT_OUTCOME_UNKNOWN: the caller retries later, by when the
 * outcome is known (at the latest once the pending cut-off passed and the provider was
 * asked).
 */
export class PaymentOutcomeUnknownError extends DomainError {
  constructor(paymentId: string, operation: string) {
    super(
      'aborted',
      `payment ${paymentId} is PENDING: its outcome at the provider is not known yet, so it cannot be ${operation}; retry later`,
      {paymentId, state: 'PENDING'},
    );
  }
}

/** A rule of the ledger was broken by code: a bug, never the caller's fault. */
export class InternalInvariantError extends DomainError {
  constructor(message: string) {
    super('internal', message);
  }
}
