/**
 * Finishes or undoes orders whose saga was cut short (a crash, a lost answer), and
 * retries undo steps that failed, with the saga's own steps (purchase_steps.ts).
 *
 * Work is claimed, not shared: each pass takes a lease on at most `limit` due orders
 * (FOR UPDATE SKIP LOCKED, so replicas never take the same order), and the next pass of
 * a replica starts only after the previous one ended. An order that fails is tried again
 * after an exponential back-off; after `maxAttempts` it is parked with its reason (a
 * metric counts them) and no longer competes with newer interrupted sagas. A payment
 * whose outcome Payment cannot tell yet is different: it is an answer on its way (an
 * authorization in flight, or one Payment resolves at its cut-off), not a fault, so it
 * is asked again every `unknownOutcomeRetryMs` with a budget of its own, and the saga
 * settles within seconds of the answer instead of a doubling back-off later.
 *
 * A PENDING order past the pivot (stock committed) is rolled forward to PAID; one whose
 * steps before the pivot all took effect is driven through the pivot; any other is
 * rolled back with every undo step (each safe whether or not its action took effect).
 */
import type {Logger} from '../../../common/log/logger.js';
import {PaymentOutcomeUnknownError} from '../domain/errors.js';
import type {Order} from '../domain/order.js';
import type {Clock, OrderStore, RecoveryClaim} from './ports.js';
import {
  isRefusal,
  pivotStep,
  undoableSteps,
  undoSteps,
  type PurchaseStep,
} from './purchase_steps.js';

export interface RecoveryPolicy {
  /** A saga's owner is gone once it has not heartbeaten for this long. */
  ownerGoneMs: number;
  /** A PENDING order this old is recovered even if its owner looks alive. */
  abandonedAfterMs: number;
  /** How long a pass holds the orders it claimed. */
  leaseMs: number;
  /** Orders per pass. */
  batch: number;
  /** First back-off; doubles per failed attempt up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Failed attempts after which an order is parked. */
  maxAttempts: number;
  /**
   * The wait after an attempt that met a payment outcome Payment cannot tell yet:
   * short and fixed, so the order is settled soon after Payment's cut-off.
   */
  unknownOutcomeRetryMs: number;
  /** Such attempts after which the order is parked (they outlast Payment's cut-off). */
  unknownOutcomeMaxAttempts: number;
  /** Orders of a pass attempted at once (each is a few calls to other services). */
  concurrency: number;
}

export const DEFAULT_RECOVERY_POLICY: RecoveryPolicy = {
  ownerGoneMs: 5_000,
  abandonedAfterMs: 120_000,
  leaseMs: 60_000,
  batch: 50,
  backoffMs: 1_000,
  maxBackoffMs: 300_000,
  maxAttempts: 12,
  // Every 2 s for 10 min: far past Payment's 30 s cut-off, yet a few rows at most.
  unknownOutcomeRetryMs: 2_000,
  unknownOutcomeMaxAttempts: 300,
  concurrency: 8,
};

export class RecoverOrders {
  private running: Promise<number> | undefined;

  constructor(
    private readonly store: OrderStore,
    private readonly steps: readonly PurchaseStep[],
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly policy: RecoveryPolicy = DEFAULT_RECOVERY_POLICY,
    /** Told each order parked (metrics). */
    private readonly onParked: (order: Order) => void = () => {},
  ) {}

  /**
   * One pass; returns how many orders were settled. A call while a pass runs joins
   * that pass instead of starting a second one.
   */
  execute(): Promise<number> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<number> {
    const claims = await this.store.claimRecovery({
      ownerGoneMs: this.policy.ownerGoneMs,
      abandonedAfterMs: this.policy.abandonedAfterMs,
      leaseMs: this.policy.leaseMs,
      limit: this.policy.batch,
    });
    // The claims are leased to this pass, so they may be worked side by side: one slow
    // order (a peer's timeout) holds back a worker, not the whole batch.
    let settled = 0;
    let next = 0;
    const worker = async () => {
      while (next < claims.length) {
        if (await this.attempt(claims[next++])) settled++;
      }
    };
    const workers = Math.max(
      1,
      Math.min(this.policy.concurrency, claims.length),
    );
    await Promise.all(Array.from({length: workers}, worker));
    return settled;
  }

  private async attempt({order, attempts}: RecoveryClaim): Promise<boolean> {
    try {
      if (order.state === 'pending') await this.settle(order);
      else await this.retryCompensation(order);
      await this.store.recoverySucceeded(order.id);
      return true;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const failed = attempts + 1;
      const unknown = err instanceof PaymentOutcomeUnknownError;
      const park = unknown
        ? failed >= this.policy.unknownOutcomeMaxAttempts
        : failed >= this.policy.maxAttempts;
      const wait = unknown
        ? this.policy.unknownOutcomeRetryMs
        : Math.min(
            this.policy.maxBackoffMs,
            this.policy.backoffMs * 2 ** (failed - 1),
          );
      const retryAt = park
        ? undefined
        : new Date(this.clock.now().getTime() + wait);
      await this.store
        .recoveryFailed(order.id, reason, retryAt)
        .catch(() => undefined); // the lease lapses by itself
      if (park) {
        this.log.error('order recovery parked after repeated failures', {
          orderId: order.id,
          attempts: failed,
          reason,
        });
        this.onParked(order);
      } else {
        this.log.warn('order recovery failed; will retry', {
          orderId: order.id,
          attempts: failed,
          retryInMs: wait,
          reason,
        });
      }
      return false;
    }
  }

  private async settle(order: Order): Promise<void> {
    const pivot = pivotStep(this.steps);
    if (await pivot.tookEffect(order)) return this.rollForward(order);
    if (await this.allTookEffect(undoableSteps(this.steps), order)) {
      try {
        await pivot.run(order, '');
        return this.rollForward(order);
      } catch (err) {
        if (!isRefusal(err)) throw err; // no answer: try again later
      }
    }
    await undoSteps(this.steps, order);
    order.fail(
      'internal',
      'the order was interrupted and undone; nothing stays charged',
      [],
      this.clock.now(),
    );
    await this.saveOrThrow(order);
    this.log.info('recovered order rolled back to FAILED', {orderId: order.id});
  }

  private async allTookEffect(
    steps: readonly PurchaseStep[],
    order: Order,
  ): Promise<boolean> {
    for (const step of steps) {
      if (!(await step.tookEffect(order))) return false;
    }
    return true;
  }

  private async rollForward(order: Order): Promise<void> {
    order.markPaid(this.clock.now());
    await this.saveOrThrow(order);
    this.log.info('recovered order rolled forward to PAID', {
      orderId: order.id,
    });
  }

  private async retryCompensation(order: Order): Promise<void> {
    await undoSteps(this.steps, order, order.pendingUndo);
    order.compensationDone(this.clock.now());
    await this.saveOrThrow(order);
    this.log.info('order compensation completed', {orderId: order.id});
  }

  /** A concurrent change (the saga itself, a replay) won: this attempt counts as failed. */
  private async saveOrThrow(order: Order): Promise<void> {
    if (!(await this.store.save(order))) {
      throw new Error(`order ${order.id} changed during recovery`);
    }
  }
}
