/**
 * Order reads.
 */
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import type {Order} from '../domain/order.js';
import {visibleOrder, type CustomerScope} from './customer_scope.js';
import type {OrderStore} from './ports.js';

export class ReadOrders {
  constructor(private readonly store: OrderStore) {}

  async get(orderId: string, scope: CustomerScope): Promise<Order> {
    return visibleOrder(await this.store.find(orderId), orderId, scope);
  }

  /** A page of a customer's orders, newest first, and the cursor of the next page. */
  async list(
    customerId: string,
    pageSize: number,
    pageToken: string,
  ): Promise<{orders: Order[]; next: string}> {
    const limit = pageSize || 50;
    const orders = await this.store.listByCustomer(
      customerId,
      limit + 1,
      parseCursor(pageToken),
    );
    const page = orders.slice(0, limit);
    const last = page[page.length - 1];
    const next = orders.length > limit && last ? makeCursor(last) : '';
    return {orders: page, next};
  }
}

/** Position in a customer's order list: (create time, order id), newest first. */
export interface OrderCursor {
  createdAt: Date;
  orderId: string;
}

function makeCursor(order: Order): string {
  const s = order.snapshot();
  return Buffer.from(`${s.createdAt.toISOString()}|${s.id}`).toString(
    'base64url',
  );
}

function parseCursor(token: string): OrderCursor | undefined {
  if (!token) return undefined;
  const [time, orderId] = Buffer.from(token, 'base64url').toString().split('|');
  const createdAt = new Date(time);
  if (!orderId || Number.isNaN(createdAt.getTime())) {
    throw new InvalidArgumentError(
      'page_token',
      'is not a token from a previous response',
    );
  }
  return {createdAt, orderId};
}
