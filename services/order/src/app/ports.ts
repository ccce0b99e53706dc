/**
 * What Order's use cases need: its own store, and the three services the saga drives.
 * Gateways speak domain terms; infra/clients turns them into gRPC calls and turns the
 * answers back into domain errors.
 */
import type {Money} from '../../../common/money/money.js';
import type {Order, OrderLine} from '../domain/order.js';

export interface OrderStore {
  /** Inserts a new order; false when its request id is already taken (nothing written). */
  insert(order: Order): Promise<boolean>;
  /**
   * Saves state and queues the order's pending events (outbox), in one transaction.
   * False when the stored version moved on (someone else changed the order first).
   */
  save(order: Order): Promise<boolean>;
  find(orderId: string): Promise<Order | undefined>;
  findByRequestId(requestId: string): Promise<Order | undefined>;
  /** A customer's orders, newest first, after the cursor `before` when given. */
  listByCustomer(
    customerId: string,
    limit: number,
    after?: {createdAt: Date; orderId: string},
  ): Promise<Order[]>;
  /** Orders whose saga looks abandoned, or whose undo steps must be retried. */
  needingRecovery(pendingForMs: number, limit: number): Promise<Order[]>;
  /**
   * Records a refund request id for an order; false when it was recorded before (with
   * `existingRefund` telling its amount).
   */
  recordRefund(
    orderId: string,
    requestId: string,
    amount: Money,
    order: Order,
  ): Promise<boolean>;
  existingRefund(
    requestId: string,
  ): Promise<{orderId: string; amount: Money} | undefined>;
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
  /** Throws OutOfStock (FAILED_PRECONDITION) or NotFound naming the SKU. */
  reserve(
    reservationId: string,
    orderId: string,
    lines: readonly OrderLine[],
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
  /** Idempotent; a payment that was never authorized counts as voided. */
  void(paymentId: string): Promise<void>;
  refund(
    paymentId: string,
    refundId: string,
    amount: Money,
    reason: string,
  ): Promise<void>;
  /** The payment's state, or undefined when it was never made. */
  state(paymentId: string): Promise<PaymentState | undefined>;
}

export interface Clock {
  now(): Date;
}
