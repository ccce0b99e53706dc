/**
 * Whose orders a caller may see and change: one customer (a shopper acts only as itself),
 * or every customer (an operator). Another customer's order is reported as not found,
 * so its existence does not leak.
 */
import {
  NotFoundError,
  PermissionDeniedError,
} from '../../../common/errors/domain_error.js';
import type {Order} from '../domain/order.js';

/** The one customer the caller acts as, or undefined for an operator who sees everyone. */
export type CustomerScope = string | undefined;

/** `order`, or NOT_FOUND when it is missing or outside `scope`. */
export function visibleOrder(
  order: Order | undefined,
  orderId: string,
  scope: CustomerScope,
): Order {
  if (!order || (scope !== undefined && order.customerId !== scope)) {
    throw new NotFoundError('order', orderId);
  }
  return order;
}

/** The customer a request may name: its own (or any, for an operator). */
export function requireSameCustomer(named: string, scope: CustomerScope): void {
  if (scope !== undefined && named !== '' && named !== scope) {
    throw new PermissionDeniedError(
      'customer_id must be the authenticated customer: a customer acts only for itself',
    );
  }
}
