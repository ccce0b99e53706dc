/**
 * The Order aggregate. It changes only through the methods below, each of which checks
 * that the transition is legal and records the event it produces:
 *
 *   PENDING ──markPaid──▶ PAID ──refund──▶ PARTIALLY_REFUNDED ──refund──▶ REFUNDED
 *      │                   │                     │
 *      └──fail──▶ FAILED    └──cancel──▶ CANCELLED ◀──cancel──┘
 */
import {
  FailedPreconditionError,
  InvalidArgumentError,
} from '../../../common/errors/domain_error.js';
import {Money} from '../../../common/money/money.js';

export type OrderState =
  | 'pending'
  | 'paid'
  | 'failed'
  | 'cancelled'
  | 'partially_refunded'
  | 'refunded';

/** Why a saga failed: said by the step that failed (purchase_steps.ts), never guessed. */
export type FailureReason =
  | 'out_of_stock'
  | 'payment_declined'
  | 'payment_error'
  | 'inventory_error'
  | 'internal';

export type OrderEventType = 'paid' | 'failed' | 'cancelled' | 'refunded';

export interface OrderLine {
  readonly sku: string;
  readonly quantity: number;
  readonly unitPrice: Money;
  readonly lineTotal: Money;
}

/** Something that happened to an order; written to the outbox with the state change. */
export interface OrderEvent {
  readonly id: string;
  readonly type: OrderEventType;
  readonly at: Date;
}

export interface OrderInit {
  id: string;
  requestId: string;
  customerId: string;
  lines: OrderLine[];
  quoteId: string;
  paymentId: string;
  reservationId: string;
  fingerprint: string;
  createdAt: Date;
}

export interface OrderSnapshot extends OrderInit {
  state: OrderState;
  total: Money;
  refunded: Money;
  failureReason: FailureReason | undefined;
  failureMessage: string;
  /** The undo steps (purchase_steps.ts names) a failed saga still has to retry. */
  pendingUndo: readonly string[];
  /**
   * The saga failed because a dependency could not be reached: once its undo is done,
   * the client's request id is free again and a retry starts a new order.
   */
  retryable: boolean;
  updatedAt: Date;
  version: number;
}

/** An order transition that its state does not allow. */
export class IllegalOrderTransitionError extends FailedPreconditionError {
  constructor(orderId: string, state: OrderState, action: string) {
    super(
      `order ${orderId} is ${state.toUpperCase()}; it cannot be ${action}`,
      {orderId, state},
    );
  }
}

export class Order {
  private events: OrderEvent[] = [];

  private constructor(private s: OrderSnapshot) {}

  /**
   * A new PENDING order for priced lines. The total is the exact sum of the line totals
   * (each line total is checked against unit price × quantity).
   */
  static place(init: OrderInit): Order {
    if (init.lines.length === 0)
      throw new InvalidArgumentError('lines', 'must not be empty');
    const currency = init.lines[0].unitPrice.currencyCode;
    let total = Money.zero(currency);
    init.lines.forEach((line, i) => {
      if (!line.unitPrice.times(line.quantity).equals(line.lineTotal)) {
        throw new InvalidArgumentError(
          `lines[${i}]`,
          'line total is not unit price × quantity',
        );
      }
      total = total.plus(line.lineTotal);
    });
    return new Order({
      ...init,
      state: 'pending',
      total,
      refunded: Money.zero(currency),
      failureReason: undefined,
      failureMessage: '',
      pendingUndo: [],
      retryable: false,
      updatedAt: init.createdAt,
      version: 1,
    });
  }

  /** Rebuilds an order from storage (no events). */
  static restore(snapshot: OrderSnapshot): Order {
    return new Order({...snapshot});
  }

  get id(): string {
    return this.s.id;
  }
  get customerId(): string {
    return this.s.customerId;
  }
  get state(): OrderState {
    return this.s.state;
  }
  get total(): Money {
    return this.s.total;
  }
  get refunded(): Money {
    return this.s.refunded;
  }
  get currencyCode(): string {
    return this.s.total.currencyCode;
  }
  get lines(): readonly OrderLine[] {
    return this.s.lines;
  }
  get paymentId(): string {
    return this.s.paymentId;
  }
  get reservationId(): string {
    return this.s.reservationId;
  }
  get fingerprint(): string {
    return this.s.fingerprint;
  }
  get failureReason(): FailureReason | undefined {
    return this.s.failureReason;
  }
  get failureMessage(): string {
    return this.s.failureMessage;
  }
  get compensationPending(): boolean {
    return this.s.pendingUndo.length > 0;
  }
  get pendingUndo(): readonly string[] {
    return this.s.pendingUndo;
  }
  get retryable(): boolean {
    return this.s.retryable;
  }

  /** What remains to refund: captured total minus refunds so far. */
  get refundable(): Money {
    return this.s.total.minus(this.s.refunded);
  }

  snapshot(): Readonly<OrderSnapshot> {
    return this.s;
  }

  /** Called by the store once a change is saved: the stored version moved on by one. */
  confirmSaved(): void {
    this.s = {...this.s, version: this.s.version + 1};
  }

  /** The events recorded and not yet taken (a store that may fail reads them first). */
  peekEvents(): readonly OrderEvent[] {
    return this.events;
  }

  /** Takes the events recorded since the last call (the store writes them to the outbox). */
  pullEvents(): OrderEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  markPaid(now: Date): void {
    this.require(['pending'], 'marked paid');
    this.change('paid', now);
    this.record('paid', now);
  }

  /**
   * Ends the saga unsuccessfully. `pendingUndo` names the undo steps (void, refund,
   * release) still to be retried; the order is FAILED either way. `retryable` says
   * a dependency outage stopped it, so its request may be tried again once undone.
   */
  fail(
    reason: FailureReason,
    message: string,
    pendingUndo: readonly string[],
    now: Date,
    retryable = false,
  ): void {
    this.require(['pending'], 'failed');
    this.s = {
      ...this.s,
      failureReason: reason,
      failureMessage: message,
      pendingUndo: [...pendingUndo],
      retryable,
    };
    this.change('failed', now);
    this.record('failed', now);
  }

  /** Marks the undo steps of a failed saga as done. */
  compensationDone(now: Date): void {
    if (this.s.pendingUndo.length === 0) return;
    this.s = {...this.s, pendingUndo: [], updatedAt: now};
  }

  /** Cancels a paid (possibly partly refunded) order; the rest is refunded by the caller. */
  cancel(now: Date): void {
    this.require(['paid', 'partially_refunded'], 'cancelled');
    this.s = {...this.s, refunded: this.s.total};
    this.change('cancelled', now);
    this.record('cancelled', now);
  }

  /** Records a refund of `amount` (positive, at most what is refundable). */
  refund(amount: Money, now: Date): void {
    this.require(['paid', 'partially_refunded'], 'refunded');
    if (amount.currencyCode !== this.currencyCode) {
      throw new InvalidArgumentError(
        'amount.currency_code',
        `the order is in ${this.currencyCode}`,
      );
    }
    if (amount.isNegative() || amount.isZero()) {
      throw new InvalidArgumentError('amount', 'must be greater than zero');
    }
    if (amount.compare(this.refundable) > 0) {
      throw new FailedPreconditionError(
        `order ${this.id} has ${this.refundable.format()} left to refund; ${amount.format()} asked`,
        {orderId: this.id},
      );
    }
    const refunded = this.s.refunded.plus(amount);
    this.s = {...this.s, refunded};
    this.change(
      refunded.equals(this.s.total) ? 'refunded' : 'partially_refunded',
      now,
    );
    this.record('refunded', now);
  }

  private require(states: OrderState[], action: string): void {
    if (!states.includes(this.s.state)) {
      throw new IllegalOrderTransitionError(this.id, this.s.state, action);
    }
  }

  private change(state: OrderState, now: Date): void {
    this.s = {...this.s, state, updatedAt: now};
  }

  private record(type: OrderEventType, at: Date): void {
    this.events.push({id: crypto.randomUUID(), type, at});
  }
}
