/**
 * PlaceOrder: the purchase saga (its steps are data: purchase_steps.ts).
 *
 *   quote (Pricing) → record PENDING order → reserve stock → charge → commit stock → PAID
 *
 * Nothing is written before the quote succeeds, so a request for an unknown SKU leaves no
 * trace. From the PENDING record on, every step is idempotent by an id stored on the
 * order, so a crash at any point can be finished or undone by the recovery worker, and a
 * duplicate request never charges twice. A dependency outage answers UNAVAILABLE and,
 * once the attempt is undone, leaves the request id free to be retried.
 */
import {randomUUID} from 'node:crypto';
import {
  ConcurrentRequestError,
  DomainError,
  IdempotencyConflictError,
  InvalidArgumentError,
  UnavailableError,
} from '../../../common/errors/domain_error.js';
import {fingerprint} from '../../../common/idempotency/fingerprint.js';
import type {Logger} from '../../../common/log/logger.js';
import {isCurrencyCode} from '../../../common/money/currency.js';
import {
  checkUniqueSkus,
  OrderInProgressError,
  StockShortageError,
} from '../domain/errors.js';
import {Order} from '../domain/order.js';
import type {Clock, OrderStore, PricingGateway} from './ports.js';
import {
  isRefusal,
  PaymentDeclinedError,
  undoSteps,
  type PurchaseStep,
  type StepFailure,
} from './purchase_steps.js';
import {Saga} from './saga.js';

export interface PlaceOrderCommand {
  requestId: string;
  customerId: string;
  currencyCode: string;
  lines: ReadonlyArray<{sku: string; quantity: number}>;
  /** Never stored or logged; only its hash enters the request fingerprint. */
  paymentToken: string;
}

export interface PlaceOrderOptions {
  /** Told the outcome of every saga that ran (metrics). */
  onOutcome?: (order: Order) => void;
  /** Bounds the sagas in flight (see common/concurrency/bulkhead.ts). */
  admission?: {run<T>(task: () => Promise<T>): Promise<T>};
  /**
   * Runs undo work free of the caller's deadline: a saga that started finishes or
   * undoes itself even when its caller gave up.
   */
  detach?: <T>(work: () => Promise<T>) => Promise<T>;
  /** Attempts of each undo step and of the final save before recovery takes over. */
  attempts?: number;
}

export class PlaceOrder {
  private readonly onOutcome: (order: Order) => void;
  private readonly admission: {run<T>(task: () => Promise<T>): Promise<T>};
  private readonly detach: <T>(work: () => Promise<T>) => Promise<T>;
  private readonly attempts: number;

  constructor(
    private readonly store: OrderStore,
    private readonly pricing: PricingGateway,
    private readonly steps: readonly PurchaseStep[],
    private readonly clock: Clock,
    private readonly log: Logger,
    options: PlaceOrderOptions = {},
  ) {
    this.onOutcome = options.onOutcome ?? (() => {});
    this.admission = options.admission ?? {run: task => task()};
    this.detach = options.detach ?? (work => work());
    this.attempts = options.attempts ?? 3;
  }

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
    if (earlier) {
      const answer = await this.replay(earlier, cmd.requestId, print);
      if (answer) return answer;
    }
    // Waiting for a slot holds nothing; a saga, once started, should run unhindered.
    return this.admission.run(() => this.placeNew(cmd, print));
  }

  private async placeNew(
    cmd: PlaceOrderCommand,
    print: string,
  ): Promise<Order> {
    const quote = await this.quote(cmd);
    const order = Order.place({
      id: randomUUID(),
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
      const answer =
        winner && (await this.replay(winner, cmd.requestId, print));
      if (!answer) {
        throw new ConcurrentRequestError(
          `request_id ${cmd.requestId} is being placed by another call; retry in a moment`,
        );
      }
      return answer;
    }
    return this.run(order, cmd.paymentToken);
  }

  private async quote(cmd: PlaceOrderCommand) {
    try {
      return await this.pricing.quote(cmd.currencyCode, cmd.lines);
    } catch (err) {
      if (err instanceof DomainError && err.kind === 'unavailable') {
        throw new UnavailableError(
          'Pricing could not be reached; nothing was written; retry with the same request_id',
          {cause: err},
        );
      }
      throw err;
    }
  }

  private async run(order: Order, token: string): Promise<Order> {
    const log = this.log.child({orderId: order.id});
    const saga = new Saga(log, this.attempts);
    for (const step of this.steps) {
      // Registered before the action: a lost answer leaves the effect unknown, and
      // every undo is safe either way.
      const undo = step.undo;
      if (undo) saga.onFailure(step.name, () => undo(order));
      try {
        await step.run(order, token);
      } catch (err) {
        if (step.pivot) {
          const crossed = await this.crossedPivot(step, order, err);
          if (crossed === 'yes') continue;
          if (crossed === 'unknown') return this.leaveToRecovery(order, err);
        }
        return this.failAndUndo(order, saga, step.failure(err), err);
      }
    }
    return this.finish(order);
  }

  /**
   * Whether a pivot whose call failed took effect anyway: only a definite refusal with
   * the effect absent lets the saga undo; no answer means recovery decides later.
   */
  private async crossedPivot(
    step: PurchaseStep,
    order: Order,
    err: unknown,
  ): Promise<'yes' | 'no' | 'unknown'> {
    try {
      if (await this.detach(() => step.tookEffect(order))) return 'yes';
    } catch {
      return 'unknown';
    }
    return isRefusal(err) ? 'no' : 'unknown';
  }

  /** After the pivot: mark PAID, retrying the save; never undo a committed purchase. */
  private async finish(order: Order): Promise<Order> {
    order.markPaid(this.clock.now());
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        const saved = await this.saveOrReload(order);
        this.log.info('order paid', {
          orderId: order.id,
          total: order.total.format(),
        });
        this.onOutcome(saved);
        return saved;
      } catch (err) {
        this.log.warn('saving a paid order failed; retrying', {
          orderId: order.id,
          attempt,
          reason: err instanceof Error ? err.message : String(err),
        });
        await sleep(100 * 2 ** (attempt - 1));
      }
    }
    return this.leaveToRecovery(
      order,
      new Error('the paid order could not be saved'),
    );
  }

  /** Stops driving the saga: recovery (of any replica) rolls it forward or back. */
  private async leaveToRecovery(order: Order, err: unknown): Promise<never> {
    await this.store.disown(order.id).catch(() => undefined);
    this.log.warn('order handed to recovery', {
      orderId: order.id,
      reason: err instanceof Error ? err.message : String(err),
    });
    throw new UnavailableError(
      `order ${order.id} is still being completed; read it with GetOrder or retry the same request_id`,
      {cause: err},
    );
  }

  private async failAndUndo(
    order: Order,
    saga: Saga,
    failure: StepFailure,
    err: unknown,
  ): Promise<Order> {
    const log = this.log.child({orderId: order.id});
    const pending = await this.detach(() => saga.compensate());
    order.fail(
      failure.reason,
      failure.message,
      pending,
      this.clock.now(),
      failure.retryable,
    );
    let saved: Order;
    try {
      saved = await this.saveOrReload(order);
    } catch (saveErr) {
      return this.leaveToRecovery(order, saveErr);
    }
    log.info('order failed', {
      reason: failure.reason,
      compensated: pending.length === 0,
    });
    if (pending.length > 0)
      log.error('order compensation incomplete; recovery will retry', {
        reason: failure.reason,
        pending: pending.join(', '),
      });
    this.onOutcome(saved);
    // The same answer as a replay of this request gets (see replay()).
    if (failure.reason === 'out_of_stock')
      throw err instanceof StockShortageError
        ? err
        : new StockShortageError(failure.message);
    if (failure.retryable) {
      throw new UnavailableError(
        `${failure.message}; retry with the same request_id`,
        {cause: err},
      );
    }
    if (
      !(err instanceof DomainError) &&
      !(err instanceof PaymentDeclinedError)
    ) {
      log.error('order saga failed', {}, err);
    }
    return saved;
  }

  /** Saves; when recovery changed the order meanwhile, returns what is stored. */
  private async saveOrReload(order: Order): Promise<Order> {
    if (await this.store.save(order)) return order;
    return (await this.store.find(order.id)) ?? order;
  }

  /**
   * The answer to a repeated request: the same order, or the same error; undefined when
   * the earlier attempt failed on an outage and is undone, so the request starts anew.
   */
  private async replay(
    order: Order,
    requestId: string,
    print: string,
  ): Promise<Order | undefined> {
    if (order.fingerprint !== print)
      throw new IdempotencyConflictError('request_id', requestId);
    if (order.state === 'pending')
      throw new OrderInProgressError(requestId, order.id);
    if (order.state === 'failed' && order.failureReason === 'out_of_stock') {
      throw new StockShortageError(order.failureMessage);
    }
    if (order.state === 'failed' && order.retryable) {
      if (order.compensationPending) await this.finishUndo(order);
      return undefined;
    }
    return order;
  }

  /** Completes an earlier attempt's undo now rather than waiting for recovery. */
  private async finishUndo(order: Order): Promise<void> {
    try {
      await this.detach(() => undoSteps(this.steps, order, order.pendingUndo));
    } catch (err) {
      throw new UnavailableError(
        `an earlier attempt of this request (order ${order.id}) is still being undone; retry later`,
        {cause: err},
      );
    }
    order.compensationDone(this.clock.now());
    if (!(await this.store.save(order))) {
      throw new ConcurrentRequestError(
        `order ${order.id} changed meanwhile; retry`,
      );
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
