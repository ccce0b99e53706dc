/**
 * What can happen to a paid order: cancellation (refund the rest, restock) and refunds.
 *
 * Intent before effect. A call first checks what it asks (under the order's row lock)
 * and writes it as an intent, committed; then, under the lock again, the order's
 * intents are driven oldest first: Payment refunds, Inventory restocks, and the outcome
 * is recorded in the transaction that removes the intent. If that transaction dies
 * after Payment paid back (Order killed, PostgreSQL restarted, the connection cut), the
 * intent survives and the sweep (`resume`) drives it again with the same refund id,
 * which Payment answers with the refund it made: Order's books catch up with Payment's
 * instead of drifting apart. A call that met no answer (UNAVAILABLE, DEADLINE_EXCEEDED)
 * therefore stays accepted: the sweep finishes it, and a retry with the same request id
 * returns the outcome.
 *
 * Holding the row lock while Payment is called serializes after-sale operations per
 * order, so two calls never both pass the "what is left to refund" check (the second
 * waits, and answers ABORTED when the lock is not granted in time). Refund ids are
 * derived on the server from (order, purpose, client request id) and never equal a
 * client's id, so a client cannot claim the id of a cancellation's or a saga's refund.
 */
import {
  DomainError,
  FailedPreconditionError,
  IdempotencyConflictError,
} from '../../../common/errors/domain_error.js';
import {derivedId} from '../../../common/idempotency/derived_id.js';
import type {Logger} from '../../../common/log/logger.js';
import type {Money} from '../../../common/money/money.js';
import {Order} from '../domain/order.js';
import type {
  AfterSaleIntent,
  Clock,
  InventoryGateway,
  LockedOrder,
  OrderStore,
  PaymentGateway,
} from './ports.js';
import {visibleOrder, type CustomerScope} from './customer_scope.js';
import {isRefusal} from './purchase_steps.js';

/** The Payment refund id of a cancellation (one per order). */
export function cancelRefundId(orderId: string): string {
  return derivedId(orderId, 'cancel-refund');
}

/** The Payment refund id of a client's RefundOrder request. */
export function clientRefundId(orderId: string, requestId: string): string {
  return derivedId(orderId, 'client-refund', requestId);
}

export interface AfterSaleSweepPolicy {
  /** Intents younger than this belong to a call still running: the sweep leaves them. */
  graceMs: number;
  /** Orders per sweep. */
  batch: number;
  /** First back-off after a failed attempt; doubles up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_SWEEP_POLICY: AfterSaleSweepPolicy = {
  graceMs: 5_000,
  batch: 20,
  backoffMs: 1_000,
  maxBackoffMs: 60_000,
};

type IntentKey = Pick<AfterSaleIntent, 'kind' | 'requestId'>;

export class AfterSale {
  private sweeping: Promise<number> | undefined;

  constructor(
    private readonly store: OrderStore,
    private readonly inventory: InventoryGateway,
    private readonly payment: PaymentGateway,
    private readonly clock: Clock,
    private readonly log?: Logger,
    private readonly sweep: AfterSaleSweepPolicy = DEFAULT_SWEEP_POLICY,
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
    const done = await this.store.withOrderLock(orderId, async locked => {
      const order = visibleOrder(locked.order, orderId, scope);
      if (order.state === 'cancelled') return order;
      trial(order).cancel(this.clock.now()); // throws for an order that is not paid
      await locked.recordIntent({
        kind: 'cancel',
        requestId: order.id,
        orderId,
        reason: reason || 'order cancelled',
      });
      return undefined;
    });
    return done ?? this.drive(orderId, {kind: 'cancel', requestId: orderId});
  }

  /**
   * Refunds `amount` (undefined: everything left) once per request id. A retry (even
   * after Payment refunded and Order could not record it) sends the same derived refund
   * id, so Payment never pays back twice.
   */
  async refund(
    orderId: string,
    requestId: string,
    amount: Money | undefined,
    reason: string,
    scope: CustomerScope,
  ): Promise<Order> {
    const done = await this.store.withOrderLock(orderId, async locked => {
      // The order first: a caller learns nothing about request ids of orders not its own.
      const order = visibleOrder(locked.order, orderId, scope);
      const recorded = await locked.existingRefund(requestId);
      const prior = recorded ?? (await locked.findIntent('refund', requestId));
      if (prior) {
        if (
          prior.orderId !== orderId ||
          (amount && !prior.amount?.equals(amount))
        ) {
          throw new IdempotencyConflictError('request_id', requestId);
        }
        // Recorded: the answer is the order. Still an intent: drive it (below).
        return recorded ? order : undefined;
      }
      // What is left counts the refunds asked before this one and not yet done.
      const view = this.asIfDone(order, await locked.pendingIntents());
      const value = amount ?? view.refundable;
      view.refund(value, this.clock.now()); // currency, state, what is left
      await locked.recordIntent({
        kind: 'refund',
        requestId,
        orderId,
        amount: value,
        reason: reason || 'refund',
      });
      return undefined;
    });
    return done ?? this.drive(orderId, {kind: 'refund', requestId});
  }

  /** The order as it will be once `pending` took effect (a cancel refuses refunds). */
  private asIfDone(order: Order, pending: readonly AfterSaleIntent[]): Order {
    const view = trial(order);
    for (const intent of pending) {
      if (intent.kind === 'cancel') {
        throw new FailedPreconditionError(
          `order ${order.id} is being cancelled`,
          {orderId: order.id},
        );
      }
      view.refund(intent.amount!, this.clock.now());
    }
    return view;
  }

  /**
   * One sweep: drives the intents that calls left behind (they died after writing
   * them). Returns how many orders it settled. A call while a sweep runs joins it.
   */
  resume(): Promise<number> {
    this.sweeping ??= this.sweepOnce().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweepOnce(): Promise<number> {
    const due = await this.store.dueIntents(
      this.sweep.graceMs,
      this.sweep.batch,
    );
    let settled = 0;
    for (const {orderId, attempts} of due) {
      try {
        await this.drive(orderId, undefined);
        settled++;
      } catch (err) {
        await this.sweepFailed(orderId, attempts, err);
      }
    }
    return settled;
  }

  private async sweepFailed(
    orderId: string,
    attempts: number,
    err: unknown,
  ): Promise<void> {
    const reason = err instanceof Error ? err.message : String(err);
    const wait = Math.min(
      this.sweep.maxBackoffMs,
      this.sweep.backoffMs * 2 ** attempts,
    );
    await this.store
      .intentsFailed(
        orderId,
        reason,
        new Date(this.clock.now().getTime() + wait),
      )
      .catch(() => undefined); // tried again at the next sweep
    this.log?.warn('after-sale intent failed; will retry', {
      orderId,
      attempts: attempts + 1,
      retryInMs: wait,
      reason,
    });
  }

  /**
   * Drives every intent of the order, oldest first, under its lock, and returns the
   * order. A refusal (nothing was paid back) removes that intent; when it is the
   * caller's (`mine`), the caller gets the refusal once the others are committed. No
   * answer (UNAVAILABLE, a timeout) keeps every intent for the sweep and is thrown.
   */
  private async drive(
    orderId: string,
    mine: IntentKey | undefined,
  ): Promise<Order> {
    const {order, refusal} = await this.store.withOrderLock(
      orderId,
      async locked => {
        let current = locked.order;
        if (!current) throw new Error(`order ${orderId} is gone`);
        let refused: DomainError | undefined;
        const intents = await locked.pendingIntents();
        if (mine && !intents.some(i => sameIntent(i, mine))) {
          // Another call drove it: done, or refused (that call logged why).
          const done =
            mine.kind === 'cancel'
              ? current.state === 'cancelled'
              : (await locked.existingRefund(mine.requestId)) !== undefined;
          if (!done) {
            refused = new FailedPreconditionError(
              `the ${mine.kind} of order ${orderId} was refused`,
              {orderId},
            );
          }
        }
        for (const intent of intents) {
          try {
            current = await this.perform(current, intent, locked);
          } catch (err) {
            if (!(err instanceof DomainError && isRefusal(err))) throw err;
            await locked.dropIntent(intent);
            this.log?.info('after-sale intent refused', {
              orderId,
              kind: intent.kind,
              requestId: intent.requestId,
              reason: err.message,
            });
            if (mine && sameIntent(intent, mine)) refused = err;
          }
        }
        return {order: current, refusal: refused};
      },
    );
    if (refusal) throw refusal;
    return order;
  }

  /** One intent's effect and record; returns the order as it is afterwards. */
  private async perform(
    stored: Order,
    intent: AfterSaleIntent,
    locked: LockedOrder,
  ): Promise<Order> {
    const order = trial(stored);
    if (intent.kind === 'refund') {
      const amount = intent.amount!;
      order.refund(amount, this.clock.now());
      await this.payment.refund(
        order.paymentId,
        clientRefundId(order.id, intent.requestId),
        amount,
        intent.reason,
      );
      await locked.recordRefund(intent.requestId, amount, order);
      await locked.dropIntent(intent);
      return order;
    }
    if (order.state === 'cancelled') {
      await locked.dropIntent(intent);
      return stored;
    }
    const rest = order.refundable;
    order.cancel(this.clock.now());
    if (!rest.isZero()) {
      await this.payment.refund(
        order.paymentId,
        cancelRefundId(order.id),
        rest,
        intent.reason,
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
    await locked.dropIntent(intent);
    return order;
  }
}

/** A copy to try a change on: the stored order stays as it is if the change throws. */
function trial(order: Order): Order {
  return Order.restore({...order.snapshot()});
}

function sameIntent(a: IntentKey, b: IntentKey): boolean {
  return a.kind === b.kind && a.requestId === b.requestId;
}
