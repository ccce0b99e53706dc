/**
 * What can happen to a paid order: cancellation (refund the rest, restock) and refunds.
 */
import {
  ConcurrentRequestError,
  IdempotencyConflictError,
} from '../../../common/errors/domain_error.js';
import {derivedId} from '../../../common/idempotency/derived_id.js';
import type {Money} from '../../../common/money/money.js';
import type {Order} from '../domain/order.js';
import type {
  Clock,
  InventoryGateway,
  OrderStore,
  PaymentGateway,
} from './ports.js';
import {visibleOrder, type CustomerScope} from './customer_scope.js';

export class AfterSale {
  constructor(
    private readonly store: OrderStore,
    private readonly inventory: InventoryGateway,
    private readonly payment: PaymentGateway,
    private readonly clock: Clock,
  ) {}

  /**
   * Cancels a paid order: refunds what is left and puts every unit back in stock.
   * Idempotent: the refund and restock ids derive from the order id, so a retry after a
   * failure halfway repeats nothing; cancelling a cancelled order returns it.
   */
  async cancel(
    orderId: string,
    reason: string,
    scope: CustomerScope,
  ): Promise<Order> {
    const order = await this.load(orderId, scope);
    if (order.state === 'cancelled') return order;
    const rest = order.refundable;
    order.cancel(this.clock.now()); // throws for an order that is not paid
    if (!rest.isZero()) {
      await this.payment.refund(
        order.paymentId,
        derivedId(order.id, 'cancel-refund'),
        rest,
        reason || 'order cancelled',
      );
    }
    for (const line of order.lines) {
      await this.inventory.restock(
        derivedId(order.id, 'cancel-restock', line.sku),
        line.sku,
        line.quantity,
        `order ${order.id} cancelled`,
      );
    }
    if (!(await this.store.save(order))) {
      throw new ConcurrentRequestError(
        `order ${orderId} changed meanwhile; retry`,
      );
    }
    return order;
  }

  /**
   * Refunds `amount` (undefined: everything left) once per request id. The payment
   * refund carries the request id, so a retry never pays back twice.
   */
  async refund(
    orderId: string,
    requestId: string,
    amount: Money | undefined,
    reason: string,
    scope: CustomerScope,
  ): Promise<Order> {
    // The order first: a caller learns nothing about request ids of orders not its own.
    const order = await this.load(orderId, scope);
    const prior = await this.store.existingRefund(requestId);
    if (prior) {
      if (
        prior.orderId !== orderId ||
        (amount && !prior.amount.equals(amount))
      ) {
        throw new IdempotencyConflictError('request_id', requestId);
      }
      return order;
    }
    const value = amount ?? order.refundable;
    order.refund(value, this.clock.now()); // validates currency, state and what is left
    await this.payment.refund(
      order.paymentId,
      requestId,
      value,
      reason || 'refund',
    );
    if (!(await this.store.recordRefund(orderId, requestId, value, order))) {
      return (await this.store.find(orderId)) ?? order;
    }
    return order;
  }

  private async load(orderId: string, scope: CustomerScope): Promise<Order> {
    return visibleOrder(await this.store.find(orderId), orderId, scope);
  }
}
