/**
 * AuthorizePayment: ask the provider to hold an amount on a payment method.
 */
import {
  ConcurrentRequestError,
  DomainError,
  IdempotencyConflictError,
} from '../../../common/errors/domain_error.js';
import {fingerprint} from '../../../common/idempotency/fingerprint.js';
import type {Money} from '../../../common/money/money.js';
import {Payment} from '../domain/payment.js';
import {authorizeKey, captureKey} from './provider_keys.js';
import type {Clock, PaymentProvider, PaymentStore} from './ports.js';

export interface AuthorizePaymentCommand {
  paymentId: string;
  orderId: string;
  amount: Money;
  /** Passed to the provider only; never stored, logged or traced. */
  paymentToken: string;
  /** Capture the whole amount in the same step (a sale). */
  capture?: boolean;
  /**
   * True once the caller stopped waiting (its deadline passed or it cancelled). Checked
   * right before the provider is called: a caller that gave up has already started
   * undoing its saga and would never learn of a charge made now.
   */
  callerGone?: () => boolean;
}

/**
 * The fingerprint that tells a retry from a reused payment id. The token enters it only
 * as its own SHA-256, so the stored value cannot be turned back into a token by anyone
 * who does not already hold it.
 */
export function authorizationFingerprint(cmd: AuthorizePaymentCommand): string {
  return fingerprint({
    orderId: cmd.orderId,
    amount: cmd.amount.toString(),
    currency: cmd.amount.currencyCode,
    capture: cmd.capture === true,
    token: fingerprint(cmd.paymentToken),
  });
}

export class AuthorizePayment {
  constructor(
    private readonly store: PaymentStore,
    private readonly provider: PaymentProvider,
    private readonly clock: Clock,
  ) {}

  /**
   * Authorizes once per payment id. A retry with the same order, amount and token gets
   * the stored payment (AUTHORIZED or DECLINED) without a second provider call; other
   * details under the same id are ALREADY_EXISTS. A provider outage throws
   * UnavailableError and stores nothing, so the retry starts afresh.
   */
  async execute(cmd: AuthorizePaymentCommand): Promise<Payment> {
    cmd.amount.assertChargeable('amount');
    const print = authorizationFingerprint(cmd);
    const stored = await this.store.find(cmd.paymentId);
    if (stored) return sameRequest(stored, print);

    // The provider is called outside any transaction: an authorization holds no row of
    // ours, and a database connection must not wait on a network call it does not need.
    // Two concurrent first attempts both get here; the provider's idempotency key makes
    // the second call return the first one's authorization, and the insert below lets
    // one of them store it.
    if (cmd.callerGone?.()) {
      throw new CallerGoneError(cmd.paymentId);
    }
    const result = await this.provider.authorize({
      idempotencyKey: authorizeKey(cmd.paymentId),
      amount: cmd.amount,
      paymentToken: cmd.paymentToken,
    });
    const fresh = {
      id: cmd.paymentId,
      orderId: cmd.orderId,
      amount: cmd.amount,
      provider: this.provider.name,
      providerReference: result.reference,
      requestFingerprint: print,
      now: this.clock.now(),
    };
    const payment = result.approved
      ? Payment.authorized(fresh)
      : Payment.declined(fresh, result.declineCode);
    let captureReference: string | undefined;
    if (result.approved && cmd.capture) {
      // Same idempotency key as a separate CapturePayment, so a retry of either form
      // never charges twice.
      ({reference: captureReference} = await this.provider.capture({
        idempotencyKey: captureKey(cmd.paymentId),
        authorizationReference: result.reference,
        amount: cmd.amount,
      }));
      payment.capture(undefined, fresh.now);
    }
    if (await this.store.insert(payment, captureReference)) return payment;

    const winner = await this.store.find(cmd.paymentId);
    if (!winner) {
      // Not possible while payments are never deleted; ask for a retry rather than guess.
      throw new ConcurrentRequestError(
        `payment ${cmd.paymentId} is being authorized by another request; retry`,
        {paymentId: cmd.paymentId},
      );
    }
    return sameRequest(winner, print);
  }
}

/** The caller's deadline passed before anything was charged; nothing was. */
class CallerGoneError extends DomainError {
  constructor(paymentId: string) {
    super(
      'unavailable',
      `payment ${paymentId} was not attempted: the caller's deadline passed while it waited; nothing was charged`,
      {paymentId},
    );
  }
}

function sameRequest(stored: Payment, print: string): Payment {
  if (stored.requestFingerprint !== print) {
    throw new IdempotencyConflictError('payment_id', stored.id);
  }
  return stored;
}
