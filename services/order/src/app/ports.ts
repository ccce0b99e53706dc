/**
 * What Order's use cases need: its own store, and the three services the saga drives.
 * Gateways speak domain terms; infra/clients turns them into gRPC calls and turns the
 * answers back into domain errors.
 */
import type {Money} from '../../../common/money/money.js';
import type {Order, OrderLine} from '../domain/order.js';
import type {
  DriftKind,
  LedgerFacts,
  MirrorMismatchFacts,
  OrderFacts,
  PaymentFacts,
  RepairAction,
  ReservationFacts,
} from '../domain/reconciliation.js';

export interface OrderStore {
  /**
   * Inserts a new order, owned by this process (its sagas are recovered quickly once it
   * stops heartbeating); false when its request id is taken (nothing written).
   */
  insert(order: Order): Promise<boolean>;
  /**
   * Saves state and queues the order's pending events (outbox), in one transaction.
   * False when the stored version moved on (someone else changed the order first).
   */
  save(order: Order): Promise<boolean>;
  find(orderId: string): Promise<Order | undefined>;
  /** The live order of a request id (not one that failed retryably and was undone). */
  findByRequestId(requestId: string): Promise<Order | undefined>;
  /** A customer's orders, newest first, after the cursor `before` when given. */
  listByCustomer(
    customerId: string,
    limit: number,
    after?: {createdAt: Date; orderId: string},
  ): Promise<Order[]>;
  /** Hands a PENDING order to recovery now (this process stops driving its saga). */
  disown(orderId: string): Promise<void>;
  /** Tells other replicas this process (the owner of its sagas) is alive. */
  heartbeat(): Promise<void>;
  /**
   * Claims up to `limit` orders that need recovery, for `leaseMs`: PENDING orders whose
   * owner stopped heartbeating for `ownerGoneMs` (or older than `abandonedAfterMs`),
   * and FAILED orders with pending undo steps; never parked ones, never ones whose next
   * attempt is not due, never ones another pass holds (SKIP LOCKED + lease).
   */
  claimRecovery(q: RecoveryQuery): Promise<RecoveryClaim[]>;
  /** The claimed order is settled: lease, attempts and back-off cleared. */
  recoverySucceeded(orderId: string): Promise<void>;
  /**
   * The attempt failed: the lease ends and the order is tried again at `retryAt`, or
   * parked (never tried again without an operator) when `retryAt` is undefined.
   */
  recoveryFailed(
    orderId: string,
    reason: string,
    retryAt: Date | undefined,
  ): Promise<void>;
  /** Orders parked by recovery (a metric). */
  parkedCount(): Promise<number>;
  /**
   * Runs `work` holding the order's row lock, so after-sale operations on one order
   * run one at a time; ABORTED when the lock is not granted in time.
   */
  withOrderLock<T>(
    orderId: string,
    work: (locked: LockedOrder) => Promise<T>,
  ): Promise<T>;
  /**
   * Orders with after-sale intents written at least `olderThanMs` ago whose next attempt
   * is due: a call that died between Payment's refund and Order's record left them.
   */
  dueIntents(olderThanMs: number, limit: number): Promise<DueIntents[]>;
  /** After-sale intents not yet done, and the age of the oldest (a metric). */
  intentBacklog(): Promise<{count: number; oldestSeconds: number}>;
  /** Driving the order's intents failed: they are tried again at `retryAt`. */
  intentsFailed(orderId: string, reason: string, retryAt: Date): Promise<void>;
}

/** An order with intents due, and the most failed attempts among them (back-off). */
export interface DueIntents {
  orderId: string;
  attempts: number;
}

/**
 * A cancel or refund as asked, before it takes effect: written and committed before
 * Order calls Payment, removed in the transaction that records the outcome.
 */
export interface AfterSaleIntent {
  kind: 'cancel' | 'refund';
  /** The client's request id (refund) or the order id (cancel: one per order). */
  requestId: string;
  orderId: string;
  /** The refund's amount; undefined for a cancel (everything left, when it runs). */
  amount?: Money;
  reason: string;
  /** Failed attempts so far (back-off). */
  attempts: number;
}

export interface RecoveryQuery {
  ownerGoneMs: number;
  abandonedAfterMs: number;
  leaseMs: number;
  limit: number;
}

export interface RecoveryClaim {
  order: Order;
  /** Failed attempts so far. */
  attempts: number;
}

/** An order under its row lock, and the writes allowed while it is held. */
export interface LockedOrder {
  readonly order: Order | undefined;
  /** Saves (with its events); throws when it cannot. */
  save(order: Order): Promise<void>;
  /** Records a refund by its client request id together with the order's new state. */
  recordRefund(requestId: string, amount: Money, order: Order): Promise<void>;
  existingRefund(
    requestId: string,
  ): Promise<{orderId: string; amount: Money} | undefined>;
  /** Writes an intent (one per kind and request id: a repeat writes nothing). */
  recordIntent(intent: Omit<AfterSaleIntent, 'attempts'>): Promise<void>;
  /** The intent of a request id, whatever its order. */
  findIntent(
    kind: AfterSaleIntent['kind'],
    requestId: string,
  ): Promise<AfterSaleIntent | undefined>;
  /** This order's intents, oldest first. */
  pendingIntents(): Promise<AfterSaleIntent[]>;
  /** Removes an intent: it took effect (with the write that records it) or was refused. */
  dropIntent(intent: AfterSaleIntent): Promise<void>;
}

export interface QuotedLine {
  sku: string;
  quantity: number;
  unitPrice: Money;
  lineTotal: Money;
}

export interface PricingGateway {
  quote(
    currencyCode: string,
    lines: ReadonlyArray<{sku: string; quantity: number}>,
  ): Promise<{
    quoteId: string;
    lines: QuotedLine[];
    total: Money;
  }>;
}

export interface InventoryGateway {
  /**
   * Throws OutOfStock (FAILED_PRECONDITION) or NotFound naming the SKU. The hold lapses
   * by itself after `ttlMs`, so a reservation whose answer was lost (and whose release
   * came before it) never holds stock for long.
   */
  reserve(
    reservationId: string,
    orderId: string,
    lines: readonly OrderLine[],
    ttlMs: number,
  ): Promise<void>;
  commit(reservationId: string): Promise<void>;
  /** Idempotent; a reservation that never existed counts as released. */
  release(reservationId: string): Promise<void>;
  /** Puts units back on the shelf (cancellation), once per request id. */
  restock(
    requestId: string,
    sku: string,
    quantity: number,
    note: string,
  ): Promise<void>;
  /** The reservation's state, or undefined when it was never made. */
  reservationState(
    reservationId: string,
  ): Promise<'active' | 'committed' | 'released' | 'expired' | undefined>;
}

export type Authorization =
  {approved: true} | {approved: false; declineCode: string};

export type PaymentState =
  | 'pending'
  | 'authorized'
  | 'declined'
  | 'captured'
  | 'voided'
  | 'partially_refunded'
  | 'refunded';

export interface PaymentGateway {
  /**
   * Authorizes and captures `amount` in one call (a sale); idempotent by payment id.
   * Approved means the money was captured.
   */
  charge(
    paymentId: string,
    orderId: string,
    amount: Money,
    token: string,
  ): Promise<Authorization>;
  /**
   * Makes sure the payment charges nothing (idempotent): voids an authorization, and
   * for an id Payment never saw records a tombstone so a late charge is refused.
   * Throws PaymentCapturedError when it was captured (refund instead) and
   * PaymentOutcomeUnknownError while Payment cannot tell yet (retry later).
   */
  void(paymentId: string): Promise<void>;
  refund(
    paymentId: string,
    refundId: string,
    amount: Money,
    reason: string,
  ): Promise<void>;
  /** The payment's state, or undefined when Payment has no record of it. */
  state(paymentId: string): Promise<PaymentState | undefined>;
}

export interface Clock {
  now(): Date;
}

/** Order's own side of reconciliation: its orders, the pass lease, the repair log. */
export interface ReconcileStore {
  /** Orders changed at or after `since`. */
  ordersUpdatedSince(since: Date): Promise<OrderFacts[]>;
  /** These orders (those that exist). */
  ordersByIds(ids: readonly string[]): Promise<OrderFacts[]>;
  /**
   * Takes the one reconciliation lease for `leaseMs` when no other holder has it (or
   * theirs lapsed: a replica died mid-pass); false when another holds it.
   */
  tryLease(holder: string, leaseMs: number): Promise<boolean>;
  releaseLease(holder: string): Promise<void>;
  /** Appends a repair to the repairs table. */
  recordRepair(repair: RepairRecord): Promise<void>;
  /** Seconds since Order's oldest unpublished event was written (0 when none). */
  outboxLagSeconds(): Promise<number>;
}

/** A repair made or tried, as recorded. */
export interface RepairRecord {
  kind: DriftKind;
  action: RepairAction['action'];
  /** The payment, reservation or SKU repaired. */
  target: string;
  outcome: 'repaired' | 'failed';
  /** The amount refunded, or the error. */
  detail: string;
  at: Date;
}

/** What Payment and Inventory report for reconciliation (every page of each scan). */
export interface ReconcileSources {
  payments(q: {
    updatedSince?: Date;
    orderIds?: readonly string[];
  }): Promise<PaymentFacts[]>;
  reservations(q: {
    updatedSince?: Date;
    orderIds?: readonly string[];
  }): Promise<ReservationFacts[]>;
  ledger(): Promise<
    LedgerFacts & {transactionCount: number; outboxLagSeconds: number}
  >;
  /** Inventory's mirror check; with repair it rewrites the SKUs that differ. */
  mirror(repair: boolean): Promise<{
    mismatches: MirrorMismatchFacts[];
    levelsChecked: number;
    outboxLagSeconds: number;
  }>;
}
