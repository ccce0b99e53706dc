/**
 * What can happen to a paid order: cancellation (refund the rest, restock) and refunds.
 *
 * Each operation runs under the order's row lock from its first read to its last write,
 * so two calls on one order never both pass the "what is left to refund" check: the
 * second sees the first's refund (or waits, and answers ABORTED when the lock is not
 * granted in time). The refund ids Order sends to Payment are derived on the server
 * from (order, purpose, client request id) and never equal a client's id, so a client
 * cannot claim the id of a cancellation's refund, a saga's refund or another request.
 */
import {IdempotencyConflictError} from '../../../common/errors/domain_error.js';
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

/** The Payment refund id of a cancellation (one per order). */
export function cancelRefundId(orderId: string): string {
  return derivedId(orderId, 'cancel-refund');
}

/** The Payment refund id of a client's RefundOrder request. */
export function clientRefundId(orderId: string, requestId: string): string {
  return derivedId(orderId, 'client-refund', requestId);
}

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
  cancel(
    orderId: string,
    reason: string,
    scope: CustomerScope,
  ): Promise<Order> {
    return this.store.withOrderLock(orderId, async locked => {
      const order = visibleOrder(locked.order, orderId, scope);
      if (order.state === 'cancelled') return order;
      const rest = order.refundable;
      order.cancel(this.clock.now()); // throws for an order that is not paid
      if (!rest.isZero()) {
        await this.payment.refund(
          order.paymentId,
          cancelRefundId(order.id),
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
      await locked.save(order);
      return order;
    });
  }

  /**
   * Refunds `amount` (undefined: everything left) once per request id. A retry (even
   * after Payment refunded and Order could not record it) sends the same derived refund
   * id, so Payment never pays back twice.
   */
  refund(
    orderId: string,
    requestId: string,
    amount: Money | undefined,
    reason: string,
    scope: CustomerScope,
  ): Promise<Order> {
    return this.store.withOrderLock(orderId, async locked => {
      // The order first: a caller learns nothing about request ids of orders not its own.
      const order = visibleOrder(locked.order, orderId, scope);
      const prior = await locked.existingRefund(requestId);
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
        clientRefundId(order.id, requestId),
        value,
        reason || 'refund',
      );
      await locked.recordRefund(requestId, value, order);
      return order;
    });
  }
}
