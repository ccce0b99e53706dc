/**
 * What Payment's use cases need from the outside world: a store (PostgreSQL, with the
 * outbox) and a payment provider. Implemented in infra/.
 */
import type {Money} from '../../../common/money/money.js';
import type {Payment, Refund} from '../domain/payment.js';

/** Reads and transactions on the payment database. */
export interface PaymentStore {
  /**
   * Inserts a new payment and queues its events in one atomic step outside any
   * transaction; false, writing nothing, when the payment id exists already.
   */
  insert(payment: Payment, captureReference?: string): Promise<boolean>;
  /** Runs `work` in one transaction; events of saved payments commit with it. */
  tx<T>(work: (tx: PaymentTx) => Promise<T>): Promise<T>;
  find(paymentId: string): Promise<Payment | undefined>;
  /** The payments of an order, oldest first. */
  listByOrder(orderId: string): Promise<Payment[]>;
}

/** The provider's answer to one capture, void or refund call, kept for the audit trail. */
export type ProviderReceipt =
  | {operation: 'capture' | 'void'; reference: string}
  | {operation: 'refund'; refundId: string; reference: string};

/** Operations inside one transaction. */
export interface PaymentTx {
  /** Loads and row-locks a payment until the transaction ends. */
  lock(paymentId: string): Promise<Payment | undefined>;
  /**
   * Records a new refund of the payment before the provider is asked to pay it, so the
   * refund id is taken (a concurrent use of the same id waits on it). False when the id
   * belongs to a refund of another payment.
   */
  claimRefund(paymentId: string, refund: Refund): Promise<boolean>;
  /** Writes the payment's state and amounts, the receipt, and queues its events. */
  save(payment: Payment, receipt?: ProviderReceipt): Promise<void>;
}

/** The provider's answer to an authorization. A decline is an answer, not an error. */
export type AuthorizationResult =
  | {approved: true; reference: string}
  | {approved: false; reference: string; declineCode: string};

/**
 * A payment provider (card processor). Every call carries an idempotency key the
 * provider remembers: the same key again returns the first answer and moves no money a
 * second time, so a call retried after a timeout or a crash cannot double-charge.
 * Throws UnavailableError when the provider cannot be reached or answers with an
 * outage; then nothing happened, or the retry with the same key finds out what did.
 */
export interface PaymentProvider {
  /** Stored on every payment, e.g. "sandbox". */
  readonly name: string;
  authorize(req: {
    idempotencyKey: string;
    amount: Money;
    /** Never logged, traced or stored. */
    paymentToken: string;
  }): Promise<AuthorizationResult>;
  /** Charges all or part of an authorization; the rest is released. */
  capture(req: {
    idempotencyKey: string;
    authorizationReference: string;
    amount: Money;
  }): Promise<{reference: string}>;
  void(req: {
    idempotencyKey: string;
    authorizationReference: string;
  }): Promise<{reference: string}>;
  refund(req: {
    idempotencyKey: string;
    authorizationReference: string;
    amount: Money;
  }): Promise<{reference: string}>;
}

export interface Clock {
  now(): Date;
}
