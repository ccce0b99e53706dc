/**
 * AuthorizePayment: ask the provider to hold (and, for a sale, charge) an amount.
 *
 * Intent before effect: the payment row is written PENDING, keyed by the payment id that
 * is also the provider's idempotency key, before the provider is asked; the answer is
 * recorded afterwards. A lost answer or a crash in between leaves a PENDING row that
 * ResolvePendingPayments settles by asking the provider, never a charge nobody knows of.
 */
import {
  ConcurrentRequestError,
  DomainError,
  IdempotencyConflictError,
} from '../../../common/errors/domain_error.js';
import {fingerprint} from '../../../common/idempotency/fingerprint.js';
import type {Money} from '../../../common/money/money.js';
import {Payment, VoidTombstone} from '../domain/payment.js';
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
   * once, before the PENDING row is written: a caller that gave up by then costs
   * nothing and leaves nothing behind. Once the row is written the authorization runs
   * to its end whether or not the caller still waits, so the row always gets the
   * provider's answer within one provider call, not only at the resolver's cut-off.
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
   * the stored payment without a second provider call once the outcome is recorded;
   * while it is PENDING the retry asks the provider again under the same idempotency
   * key, which answers with the first outcome. Other details under the same id are
   * ALREADY_EXISTS. A payment id voided before (a tombstone) declines with
   * VOIDED_BEFORE_AUTHORIZE without asking the provider. A provider outage throws
   * UnavailableError and leaves the row PENDING for the retry.
   */
  async execute(cmd: AuthorizePaymentCommand): Promise<Payment> {
    cmd.amount.assertChargeable('amount');
    if (cmd.callerGone?.()) {
      throw new CallerGoneError(cmd.paymentId);
    }
    const print = authorizationFingerprint(cmd);
    const fresh = {
      id: cmd.paymentId,
      orderId: cmd.orderId,
      amount: cmd.amount,
      provider: this.provider.name,
      requestFingerprint: print,
      now: this.clock.now(),
    };
    let stored = await this.store.find(cmd.paymentId);
    if (!stored && !(await this.store.insertPending(Payment.pending(fresh)))) {
      stored = await this.store.find(cmd.paymentId);
      if (!stored) {
        // Not possible while payments are never deleted; ask for a retry rather than guess.
        throw new ConcurrentRequestError(
          `payment ${cmd.paymentId} is being authorized by another request; retry`,
          {paymentId: cmd.paymentId},
        );
      }
    }
    if (stored instanceof VoidTombstone) {
      return this.declineVoided(fresh, print);
    }
    if (stored) {
      sameRequest(stored, print);
      if (stored.state !== 'pending') return stored;
    }

    // From here on nothing checks whether the caller still waits: stopping between the
    // PENDING row and the provider's answer would strand the row as "outcome unknown"
    // (a retry or lookup could not tell whether the provider got the call) until the
    // resolver's cut-off. The provider is called outside any transaction: a database connection must not
    // wait on a network call. Two concurrent attempts may both get here; the provider's
    // idempotency key gives both the same answer, and the row update below records it
    // once.
    const result = await this.provider.authorize({
      idempotencyKey: authorizeKey(cmd.paymentId),
      amount: cmd.amount,
      paymentToken: cmd.paymentToken,
    });
    let captureReference: string | undefined;
    if (result.approved && cmd.capture) {
      // Same idempotency key as a separate CapturePayment, so a retry of either form
      // never charges twice.
      ({reference: captureReference} = await this.provider.capture({
        idempotencyKey: captureKey(cmd.paymentId),
        authorizationReference: result.reference,
        amount: cmd.amount,
      }));
    }
    return this.store.tx(async tx => {
      const payment = await tx.lock(cmd.paymentId);
      if (!(payment instanceof Payment)) {
        throw new ConcurrentRequestError(
          `payment ${cmd.paymentId} changed while it was authorized; retry`,
          {paymentId: cmd.paymentId},
        );
      }
      // Not PENDING any more: a concurrent attempt or the resolver recorded the same
      // answer (same idempotency key) first.
      if (!payment.settle(result, this.clock.now())) return payment;
      if (captureReference !== undefined) {
        payment.capture(undefined, payment.updatedAt);
        await tx.save(payment, {
          operation: 'capture',
          reference: captureReference,
        });
      } else {
        await tx.save(payment);
      }
      return payment;
    });
  }

  /** Turns the tombstone of a voided payment id into a declined payment, once. */
  private async declineVoided(
    fresh: Parameters<typeof Payment.voidedBeforeAuthorize>[0],
    print: string,
  ): Promise<Payment> {
    return this.store.tx(async tx => {
      const record = await tx.lock(fresh.id);
      if (record instanceof Payment) return sameRequest(record, print);
      const declined = Payment.voidedBeforeAuthorize(fresh);
      await tx.replaceTombstone(declined);
      return declined;
    });
  }
}

/** The caller gave up before anything was written or charged; nothing was. */
class CallerGoneError extends DomainError {
  constructor(paymentId: string) {
    super(
      'unavailable',
      `payment ${paymentId} was not attempted: the caller had stopped waiting; nothing was charged`,
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
