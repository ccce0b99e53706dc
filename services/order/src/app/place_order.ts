/**
 * PlaceOrder: the purchase saga.
 *
 *   quote (Pricing) → record PENDING order → reserve stock (Inventory)
 *   → charge: authorize and capture in one call (Payment) → commit stock → PAID
 *
 * Nothing is written before the quote succeeds, so a request for an unknown SKU leaves no
 * trace. From the PENDING record on, every step is idempotent by an id stored on the
 * order (reservation id, payment id, derived refund id), so a crash at any point can be
 * finished or undone by the recovery worker, and a duplicate request never charges twice.
 */
import {randomUUID} from 'node:crypto';
import {
  DomainError,
  IdempotencyConflictError,
  InvalidArgumentError,
} from '../../../common/errors/domain_error.js';
import {derivedId} from '../../../common/idempotency/derived_id.js';
import {fingerprint} from '../../../common/idempotency/fingerprint.js';
import type {Logger} from '../../../common/log/logger.js';
import {isCurrencyCode} from '../../../common/money/currency.js';
import {
  checkUniqueSkus,
  OrderInProgressError,
  StockShortageError,
} from '../domain/errors.js';
import {Order, type FailureReason} from '../domain/order.js';
import type {
  Clock,
  InventoryGateway,
  OrderStore,
  PaymentGateway,
  PricingGateway,
} from './ports.js';
import {Saga} from './saga.js';

export interface PlaceOrderCommand {
  requestId: string;
  customerId: string;
  currencyCode: string;
  lines: ReadonlyArray<{sku: string; quantity: number}>;
  /** Never stored or logged; only its hash enters the request fingerprint. */
  paymentToken: string;
}

/** The refund id a saga uses to undo its own capture (the same on every retry). */
export function sagaRefundId(orderId: string): string {
  return derivedId(orderId, 'saga-refund');
}

export class PlaceOrder {
  constructor(
    private readonly store: OrderStore,
    private readonly pricing: PricingGateway,
    private readonly inventory: InventoryGateway,
    private readonly payment: PaymentGateway,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Told the outcome of every saga that ran (metrics). */
    private readonly onOutcome: (order: Order) => void = () => {},
    /** Bounds the sagas in flight (see common/concurrency/bulkhead.ts). */
    private readonly admission: {run<T>(task: () => Promise<T>): Promise<T>} = {
      run: task => task(),
    },
  ) {}

  async execute(cmd: PlaceOrderCommand): Promise<Order> {
    if (!isCurrencyCode(cmd.currencyCode)) {
      throw new InvalidArgumentError(
        'currency_code',
        `"${cmd.currencyCode}" is not an ISO 4217 currency code`,
      );
    }
    checkUniqueSkus(cmd.lines);
    const print = fingerprint({
      customerId: cmd.customerId,
      currencyCode: cmd.currencyCode,
      lines: cmd.lines.map(l => ({sku: l.sku, quantity: l.quantity})),
      token: fingerprint(cmd.paymentToken),
    });
    const earlier = await this.store.findByRequestId(cmd.requestId);
    if (earlier) return this.replay(earlier, cmd.requestId, print);
    // Waiting for a slot holds nothing; a saga, once started, should run unhindered.
    return this.admission.run(() => this.placeNew(cmd, print));
  }

  private async placeNew(
    cmd: PlaceOrderCommand,
    print: string,
  ): Promise<Order> {
    const quote = await this.pricing.quote(cmd.currencyCode, cmd.lines);
    const orderId = randomUUID();
    const order = Order.place({
      id: orderId,
      requestId: cmd.requestId,
      customerId: cmd.customerId,
      lines: quote.lines,
      quoteId: quote.quoteId,
      paymentId: randomUUID(),
      reservationId: randomUUID(),
      fingerprint: print,
      createdAt: this.clock.now(),
    });
    if (!order.total.equals(quote.total)) {
      throw new Error(`quote ${quote.quoteId} total does not match its lines`);
    }
    if (!(await this.store.insert(order))) {
      // A concurrent duplicate inserted first.
      const winner = await this.store.findByRequestId(cmd.requestId);
      if (!winner)
        throw new Error(
          `request ${cmd.requestId} vanished after a unique conflict`,
        );
      return this.replay(winner, cmd.requestId, print);
    }
    return this.run(order, cmd.paymentToken);
  }

  private async run(order: Order, token: string): Promise<Order> {
    const log = this.log.child({orderId: order.id});
    const saga = new Saga(log);
    try {
      await this.inventory.reserve(order.reservationId, order.id, order.lines);
      saga.onFailure('release reservation', () =>
        this.inventory.release(order.reservationId),
      );

      // Registered before the call: if the answer is lost (a timeout), the money may or
      // may not have been taken, so the undo looks at the payment's state first.
      let answered = false;
      saga.onFailure('give the payment back', () =>
        this.undoPayment(order, answered),
      );
      const charge = await this.payment.charge(
        order.paymentId,
        order.id,
        order.total,
        token,
      );
      answered = true;
      if (!charge.approved) throw new PaymentDeclined(charge.declineCode);

      await this.inventory.commit(order.reservationId);

      order.markPaid(this.clock.now());
      await this.saveOrReload(order);
      log.info('order paid', {total: order.total.format()});
      this.onOutcome(order);
      return order;
    } catch (err) {
      const {reason, message} = classify(err);
      const undone = await saga.compensate();
      order.fail(reason, message, !undone, this.clock.now());
      const saved = await this.saveOrReload(order);
      log.info('order failed', {reason, compensated: undone});
      if (!undone)
        log.error('order compensation incomplete; recovery will retry', {
          reason,
        });
      // The same answer as a replay of this request gets (see replay()): a SKU that
      // Inventory does not stock is out of stock to the buyer, not an unknown resource.
      if (reason === 'out_of_stock')
        throw err instanceof StockShortageError
          ? err
          : new StockShortageError(message);
      if (reason === 'internal' && !(err instanceof DomainError)) {
        log.error('order saga failed', {}, err);
      }
      return saved;
    }
  }

  /**
   * Refunds a captured payment, voids an authorized one, and leaves anything else. When
   * the charge was never answered and no payment is found, the charge may still be in
   * flight: that is reported as a failure, so the order keeps its undo step pending and
   * the recovery worker looks again later (Payment refuses to start a charge whose caller
   * has given up, so one shows up soon or never).
   */
  private async undoPayment(order: Order, answered: boolean): Promise<void> {
    const state = await this.payment.state(order.paymentId);
    if (state === 'captured') {
      await this.payment.refund(
        order.paymentId,
        sagaRefundId(order.id),
        order.total,
        'order failed after payment',
      );
    } else if (state === 'authorized') {
      await this.payment.void(order.paymentId);
    } else if (state === undefined && !answered) {
      throw new Error(`payment ${order.paymentId}: outcome unknown yet`);
    }
  }

  /** Saves; when recovery changed the order meanwhile, returns what is stored. */
  private async saveOrReload(order: Order): Promise<Order> {
    if (await this.store.save(order)) return order;
    return (await this.store.find(order.id)) ?? order;
  }

  /** The answer to a repeated request: the same order, or the same error. */
  private replay(order: Order, requestId: string, print: string): Order {
    if (order.fingerprint !== print)
      throw new IdempotencyConflictError('request_id', requestId);
    if (order.state === 'pending')
      throw new OrderInProgressError(requestId, order.id);
    if (order.state === 'failed' && order.failureReason === 'out_of_stock') {
      throw new StockShortageError(order.failureMessage);
    }
    return order;
  }
}

class PaymentDeclined extends Error {
  constructor(readonly declineCode: string) {
    super(`payment declined: ${declineCode}`);
  }
}

function classify(err: unknown): {reason: FailureReason; message: string} {
  if (err instanceof PaymentDeclined)
    return {reason: 'payment_declined', message: err.message};
  if (
    err instanceof StockShortageError ||
    (err instanceof DomainError && err.kind === 'not_found')
  ) {
    return {reason: 'out_of_stock', message: err.message};
  }
  if (err instanceof DomainError && err.kind === 'unavailable') {
    return {reason: 'payment_error', message: err.message};
  }
  return {
    reason: 'internal',
    message: 'the order could not be completed; nothing was charged',
  };
}
