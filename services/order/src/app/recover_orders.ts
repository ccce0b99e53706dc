/**
 * Finishes or undoes orders whose saga was cut short (a crash, a lost answer), and
 * retries undo steps that failed. Runs periodically in every replica; the store hands
 * each order to one replica at a time.
 *
 * A PENDING order is rolled forward when the money was captured and the stock can be
 * committed (the customer paid: deliver), and rolled back otherwise.
 */
import {derivedId} from '../../../common/idempotency/derived_id.js';
import type {Logger} from '../../../common/log/logger.js';
import type {Order} from '../domain/order.js';
import {sagaRefundId} from './place_order.js';
import type {
  Clock,
  InventoryGateway,
  OrderStore,
  PaymentGateway,
} from './ports.js';

export class RecoverOrders {
  constructor(
    private readonly store: OrderStore,
    private readonly inventory: InventoryGateway,
    private readonly payment: PaymentGateway,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** A PENDING order older than this is considered abandoned (far above a saga's deadline). */
    private readonly abandonedAfterMs = 120_000,
  ) {}

  /** One pass; returns how many orders were settled. */
  async execute(limit = 50): Promise<number> {
    let settled = 0;
    for (const order of await this.store.needingRecovery(
      this.abandonedAfterMs,
      limit,
    )) {
      try {
        if (order.state === 'pending') await this.settle(order);
        else await this.retryCompensation(order);
        settled++;
      } catch (err) {
        this.log.warn('order recovery failed; will retry', {
          orderId: order.id,
          reason: err instanceof Error ? err.message : String(err),
        });
      }
    }
    return settled;
  }

  private async settle(order: Order): Promise<void> {
    const now = this.clock.now();
    const paid = await this.payment.state(order.paymentId);
    const stock = await this.inventory.reservationState(order.reservationId);
    if (paid === 'captured' && (stock === 'committed' || stock === 'active')) {
      if (stock === 'active') await this.inventory.commit(order.reservationId);
      order.markPaid(now);
      await this.store.save(order);
      this.log.info('recovered order rolled forward to PAID', {
        orderId: order.id,
      });
      return;
    }
    await this.undo(order, paid);
    order.fail(
      'internal',
      'the order was interrupted and undone; nothing stays charged',
      false,
      now,
    );
    await this.store.save(order);
    this.log.info('recovered order rolled back to FAILED', {orderId: order.id});
  }

  private async retryCompensation(order: Order): Promise<void> {
    await this.undo(order, await this.payment.state(order.paymentId));
    order.compensationDone(this.clock.now());
    await this.store.save(order);
    this.log.info('order compensation completed', {orderId: order.id});
  }

  /** Gives the money and the stock back, whatever point the saga reached. */
  private async undo(
    order: Order,
    paid: Awaited<ReturnType<PaymentGateway['state']>>,
  ): Promise<void> {
    if (paid === 'captured') {
      await this.payment.refund(
        order.paymentId,
        sagaRefundId(order.id),
        order.total,
        'order interrupted',
      );
    } else if (paid === 'authorized') {
      await this.payment.void(order.paymentId);
    }
    const stock = await this.inventory.reservationState(order.reservationId);
    if (stock === 'active') await this.inventory.release(order.reservationId);
    if (stock === 'committed') {
      // Stock was taken for an order that is being undone: put it back.
      for (const line of order.lines) {
        await this.inventory.restock(
          derivedId(order.id, 'recovery-restock', line.sku),
          line.sku,
          line.quantity,
          `order ${order.id} undone`,
        );
      }
    }
  }
}
