/**
 * What Payment's use cases need from the outside world: a store (PostgreSQL, with the
 * outbox) and a payment provider. Implemented in infra/.
 */
import type {Money} from '../../../common/money/money.js';
import type {ScanQuery} from '../../../common/paging/scan_cursor.js';
import type {LedgerAccount} from '../domain/ledger.js';
import type {
  Payment,
  PaymentRecord,
  Refund,
  VoidTombstone,
} from '../domain/payment.js';

/** Which postings a ledger read sums; unset fields do not filter. */
export interface LedgerFilter {
  orderId?: string;
  currencyCode?: string;
}

/** A ledger transaction that breaks double entry. */
export interface UnbalancedTransaction {
  transactionId: string;
  paymentId: string;
  orderId: string;
  kind: string;
  /** The sum of its postings in one currency; undefined when it has none. */
  sum: Money | undefined;
  postingCount: number;
}

/** What a ledger check found. */
export interface LedgerCheck {
  /** Oldest first, at most the limit asked for. */
  unbalanced: UnbalancedTransaction[];
  unbalancedCount: number;
  /** The sum of every posting, per currency with postings. */
  totals: Money[];
  transactionCount: number;
}

export interface LedgerBalances {
  /** One per account and currency with postings, by currency then account. */
  balances: Array<{account: LedgerAccount; balance: Money}>;
  transactionCount: number;
}

/** Reads and transactions on the payment database. */
export interface PaymentStore {
  /**
   * Inserts a new PENDING payment in one atomic step outside any transaction, before
   * the provider is asked; false, writing nothing, when the payment id exists already
   * (a payment or a tombstone).
   */
  insertPending(payment: Payment): Promise<boolean>;
  /** Runs `work` in one transaction; events and ledger entries commit with it. */
  tx<T>(work: (tx: PaymentTx) => Promise<T>): Promise<T>;
  find(paymentId: string): Promise<PaymentRecord | undefined>;
  /** The payments of an order, oldest first (tombstones have no order). */
  listByOrder(orderId: string): Promise<Payment[]>;
  /** Ids of PENDING payments created before `before`, oldest first. */
  pendingBefore(before: Date, limit: number): Promise<string[]>;
  /** Balances of the ledger per account and currency. */
  ledgerBalances(filter: LedgerFilter): Promise<LedgerBalances>;
  /** One page of payments (no tombstones) in (update time, id) order. */
  scan(q: ScanQuery): Promise<Payment[]>;
  /** Checks every ledger transaction, and the whole ledger, for double entry. */
  checkLedger(limit: number): Promise<LedgerCheck>;
}

/** The provider's answer to one capture, void or refund call, kept for the audit trail. */
export type ProviderReceipt =
  | {operation: 'capture' | 'void'; reference: string}
  | {operation: 'refund'; refundId: string; reference: string};

/** Operations inside one transaction. */
export interface PaymentTx {
  /** Loads and row-locks a payment (or tombstone) until the transaction ends. */
  lock(paymentId: string): Promise<PaymentRecord | undefined>;
  /**
   * Records a VOIDED tombstone for a payment id never seen; false when the id exists
   * (then lock it again: a concurrent authorization or void got there first).
   */
  insertTombstone(tombstone: VoidTombstone): Promise<boolean>;
  /** Replaces the locked tombstone of `payment.id` with `payment` and its events. */
  replaceTombstone(payment: Payment): Promise<void>;
  /**
   * Records a new refund of the payment before the provider is asked to pay it, so the
   * refund id is taken (a concurrent use of the same id waits on it). False when the id
   * belongs to a refund of another payment.
   */
  claimRefund(paymentId: string, refund: Refund): Promise<boolean>;
  /**
   * Writes the payment's state, amounts and provider reference, the receipt, its ledger
   * entries and queues its events.
   */
  save(payment: Payment, receipt?: ProviderReceipt): Promise<void>;
}

/** The provider's answer to an authorization. A decline is an answer, not an error. */
export type AuthorizationResult =
  | {approved: true; reference: string}
  | {approved: false; reference: string; declineCode: string};

/** What the provider remembers under one idempotency key. */
export type ProviderRecord =
  | {operation: 'authorize'; result: AuthorizationResult}
  | {operation: 'capture' | 'void' | 'refund'; reference: string};

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
  /**
   * What the provider did under `idempotencyKey`, or undefined when it never received
   * a request with it. How Payment resolves a PENDING payment whose answer was lost.
   */
  lookup(idempotencyKey: string): Promise<ProviderRecord | undefined>;
}

export interface Clock {
  now(): Date;
}
