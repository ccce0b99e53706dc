/**
 * In-memory stand-ins for Order's ports, for unit tests of the saga, recovery and
 * after-sale. They keep the rules the real peers promise (the Order/Payment contract:
 * void tombstones, PENDING while unknown, refunds idempotent by refund id and never over
 * the captured amount; Inventory's release of an unknown reservation is a no-op), so a
 * test fails when Order relies on something the real system would not do.
 */
import {
  ConcurrentRequestError,
  DomainError,
  FailedPreconditionError,
  UnavailableError,
} from '../../../common/errors/domain_error.js';
import {Money} from '../../../common/money/money.js';
import {
  PaymentCapturedError,
  PaymentOutcomeUnknownError,
  StockShortageError,
} from '../domain/errors.js';
import {Order} from '../domain/order.js';
import type {
  AfterSaleIntent,
  Authorization,
  DueIntents,
  InventoryGateway,
  LockedOrder,
  OrderStore,
  PaymentGateway,
  PaymentState,
  PricingGateway,
  RecoveryClaim,
  RecoveryQuery,
} from './ports.js';

/** The error a peer that cannot be reached gives, as the gRPC client shapes it. */
export function connectionRefused(peer: string): DomainError {
  return new UnavailableError(
    `${peer} unavailable: connect ECONNREFUSED 127.0.0.1:50053`,
  );
}

interface Row {
  order: Order;
  owner: string | undefined;
  attempts: number;
  nextAttemptAt: number | undefined;
  leaseUntil: number | undefined;
  parkedReason: string | undefined;
  parked: boolean;
}

export class InMemoryOrderStore implements OrderStore {
  readonly rows = new Map<string, Row>();
  readonly refunds = new Map<string, {orderId: string; amount: Money}>();
  /** Owners that still heartbeat. */
  readonly liveOwners = new Set<string>(['me']);
  /** After-sale intents by kind and request id, with when they were written. */
  readonly intents = new Map<
    string,
    AfterSaleIntent & {writtenAt: number; dueAt: number}
  >();
  /** Makes the next `n` saves throw (PostgreSQL gone for a moment). */
  failSaves = 0;
  /**
   * Makes the next `n` order-lock transactions that wrote something die at commit,
   * after their work ran (Order killed, or its connection cut, after Payment answered).
   */
  failLockCommits = 0;
  private readonly locks = new Map<string, Promise<void>>();

  constructor(
    readonly owner = 'me',
    private readonly now: () => number = () => Date.now(),
  ) {}

  private snapshotOf(o: Order): Order {
    return Order.restore({...o.snapshot()});
  }

  private live(o: Order): boolean {
    return !(o.retryable && !o.compensationPending);
  }

  async insert(order: Order): Promise<boolean> {
    const rid = order.snapshot().requestId;
    for (const r of this.rows.values()) {
      if (r.order.snapshot().requestId === rid && this.live(r.order))
        return false;
    }
    this.rows.set(order.id, {
      order: this.snapshotOf(order),
      owner: this.owner,
      attempts: 0,
      nextAttemptAt: undefined,
      leaseUntil: undefined,
      parkedReason: undefined,
      parked: false,
    });
    return true;
  }

  async save(order: Order): Promise<boolean> {
    if (this.failSaves > 0) {
      this.failSaves--;
      throw new Error('connection terminated');
    }
    const row = this.rows.get(order.id);
    if (!row || row.order.snapshot().version !== order.snapshot().version)
      return false;
    order.pullEvents();
    order.confirmSaved();
    row.order = this.snapshotOf(order);
    return true;
  }

  async find(orderId: string): Promise<Order | undefined> {
    const row = this.rows.get(orderId);
    return row && this.snapshotOf(row.order);
  }

  async findByRequestId(requestId: string): Promise<Order | undefined> {
    const all = [...this.rows.values()]
      .map(r => r.order)
      .filter(o => o.snapshot().requestId === requestId);
    const found = all.find(o => this.live(o)) ?? all[all.length - 1];
    return found && this.snapshotOf(found);
  }

  async listByCustomer(): Promise<Order[]> {
    return [];
  }

  async disown(orderId: string): Promise<void> {
    const row = this.rows.get(orderId);
    if (row && row.order.state === 'pending') row.owner = undefined;
  }

  async heartbeat(): Promise<void> {
    this.liveOwners.add(this.owner);
  }

  async claimRecovery(q: RecoveryQuery): Promise<RecoveryClaim[]> {
    const now = this.now();
    const due = [...this.rows.values()]
      .filter(r => {
        const o = r.order;
        if (o.state !== 'pending' && !o.compensationPending) return false;
        if (r.parked) return false;
        if (r.nextAttemptAt !== undefined && r.nextAttemptAt > now)
          return false;
        if (r.leaseUntil !== undefined && r.leaseUntil >= now) return false;
        if (o.state !== 'pending') return true;
        return (
          r.owner === undefined ||
          !this.liveOwners.has(r.owner) ||
          o.snapshot().createdAt.getTime() < now - q.abandonedAfterMs
        );
      })
      .sort(
        (a, b) =>
          (a.nextAttemptAt ?? a.order.snapshot().createdAt.getTime()) -
          (b.nextAttemptAt ?? b.order.snapshot().createdAt.getTime()),
      )
      .slice(0, q.limit);
    for (const r of due) r.leaseUntil = now + q.leaseMs;
    return due.map(r => ({
      order: this.snapshotOf(r.order),
      attempts: r.attempts,
    }));
  }

  async recoverySucceeded(orderId: string): Promise<void> {
    const r = this.rows.get(orderId);
    if (!r) return;
    Object.assign(r, {
      leaseUntil: undefined,
      attempts: 0,
      nextAttemptAt: undefined,
    });
  }

  async recoveryFailed(
    orderId: string,
    reason: string,
    retryAt: Date | undefined,
  ): Promise<void> {
    const r = this.rows.get(orderId);
    if (!r) return;
    r.leaseUntil = undefined;
    r.attempts++;
    r.nextAttemptAt = retryAt?.getTime();
    r.parkedReason = reason;
    r.parked = retryAt === undefined;
  }

  async parkedCount(): Promise<number> {
    return [...this.rows.values()].filter(r => r.parked).length;
  }

  async dueIntents(olderThanMs: number, limit: number): Promise<DueIntents[]> {
    const now = this.now();
    const due = new Map<string, number>();
    for (const i of this.intents.values()) {
      if (i.writtenAt > now - olderThanMs || i.dueAt > now) continue;
      due.set(i.orderId, Math.max(due.get(i.orderId) ?? 0, i.attempts));
    }
    return [...due]
      .slice(0, limit)
      .map(([orderId, attempts]) => ({orderId, attempts}));
  }

  async intentBacklog(): Promise<{count: number; oldestSeconds: number}> {
    const written = [...this.intents.values()].map(i => i.writtenAt);
    return {
      count: written.length,
      oldestSeconds:
        written.length === 0 ? 0 : (this.now() - Math.min(...written)) / 1000,
    };
  }

  async intentsFailed(
    orderId: string,
    _reason: string,
    retryAt: Date,
  ): Promise<void> {
    for (const i of this.intents.values()) {
      if (i.orderId !== orderId) continue;
      i.attempts++;
      i.dueAt = retryAt.getTime();
    }
  }

  async withOrderLock<T>(
    orderId: string,
    work: (locked: LockedOrder) => Promise<T>,
  ): Promise<T> {
    const before = this.locks.get(orderId) ?? Promise.resolve();
    let unlock = () => {};
    const mine = new Promise<void>(resolve => (unlock = resolve));
    this.locks.set(
      orderId,
      before.then(() => mine),
    );
    await before;
    try {
      const row = this.rows.get(orderId);
      const staged: Array<() => void> = [];
      const stage = async (order: Order) => {
        if (row?.order.snapshot().version !== order.snapshot().version)
          throw new Error('changed under its lock');
        staged.push(() => {
          order.pullEvents();
          order.confirmSaved();
          row.order = this.snapshotOf(order);
        });
      };
      const result = await work({
        order: row && this.snapshotOf(row.order),
        save: stage,
        recordRefund: async (requestId, amount, order) => {
          if (this.refunds.has(requestId)) throw new Error('duplicate key');
          await stage(order);
          staged.push(() => this.refunds.set(requestId, {orderId, amount}));
        },
        existingRefund: async requestId => this.refunds.get(requestId),
        recordIntent: async intent => {
          const key = intentKey(intent);
          const at = this.now();
          staged.push(() => {
            if (!this.intents.has(key))
              this.intents.set(key, {
                ...intent,
                attempts: 0,
                writtenAt: at,
                dueAt: at,
              });
          });
        },
        findIntent: async (kind, requestId) =>
          this.intents.get(intentKey({kind, requestId})),
        pendingIntents: async () =>
          [...this.intents.values()]
            .filter(i => i.orderId === orderId)
            .sort((a, b) => a.writtenAt - b.writtenAt),
        dropIntent: async intent => {
          staged.push(() => this.intents.delete(intentKey(intent)));
        },
      });
      if (staged.length > 0 && this.failLockCommits > 0) {
        this.failLockCommits--;
        throw new Error('Connection terminated unexpectedly');
      }
      for (const commit of staged) commit(); // a transaction: all or nothing
      return result;
    } finally {
      unlock();
    }
  }
}

export function fakePricing(unitPrice = '2.50'): PricingGateway {
  return {
    quote: async (currencyCode, lines) => {
      const price = Money.parse(unitPrice, currencyCode);
      const quoted = lines.map(l => ({
        sku: l.sku,
        quantity: l.quantity,
        unitPrice: price,
        lineTotal: price.times(l.quantity),
      }));
      return {
        quoteId: 'q-1',
        lines: quoted,
        total: quoted.reduce(
          (t, l) => t.plus(l.lineTotal),
          Money.zero(currencyCode),
        ),
      };
    },
  };
}

type ReservationState = 'active' | 'committed' | 'released' | 'expired';

export class FakeInventory implements InventoryGateway {
  readonly reservations = new Map<
    string,
    {state: ReservationState; ttlMs: number}
  >();
  readonly calls: string[] = [];
  readonly restocks = new Map<string, number>();
  down = false;
  /** The next reserve takes effect but its answer is lost. */
  loseNextReserveAnswer = false;
  /** The next commit is refused (the reservation lapsed). */
  refuseNextCommit = false;
  available = 1_000;

  private reach(what: string): void {
    this.calls.push(what);
    if (this.down) throw connectionRefused('inventory');
  }

  async reserve(
    reservationId: string,
    _orderId: string,
    lines: ReadonlyArray<{quantity: number}>,
    ttlMs: number,
  ): Promise<void> {
    this.reach('reserve');
    const wanted = lines.reduce((n, l) => n + l.quantity, 0);
    if (!this.reservations.has(reservationId)) {
      if (wanted > this.available)
        throw new StockShortageError('out of stock: SKU A');
      this.available -= wanted;
      this.reservations.set(reservationId, {state: 'active', ttlMs});
    }
    if (this.loseNextReserveAnswer) {
      this.loseNextReserveAnswer = false;
      throw new UnavailableError('inventory unavailable: deadline exceeded');
    }
  }

  async commit(reservationId: string): Promise<void> {
    this.reach('commit');
    const r = this.reservations.get(reservationId);
    if (this.refuseNextCommit || !r || r.state !== 'active') {
      this.refuseNextCommit = false;
      if (r) r.state = 'expired';
      throw new FailedPreconditionError('reservation expired');
    }
    r.state = 'committed';
  }

  async release(reservationId: string): Promise<void> {
    this.reach('release');
    const r = this.reservations.get(reservationId);
    if (r?.state === 'committed')
      throw new FailedPreconditionError('reservation is committed');
    if (r && r.state === 'active') r.state = 'released';
  }

  async restock(requestId: string, _sku: string, quantity: number) {
    this.reach('restock');
    this.restocks.set(requestId, quantity);
  }

  async reservationState(reservationId: string) {
    this.reach('state');
    return this.reservations.get(reservationId)?.state;
  }
}

interface FakePaymentRow {
  state: PaymentState | 'tombstone';
  captured: Money | undefined;
  refunds: Map<string, Money>;
}

export class FakePayment implements PaymentGateway {
  readonly payments = new Map<string, FakePaymentRow>();
  readonly calls: string[] = [];
  down = false;
  decline = false;
  /** The next charge captures but its answer is lost. */
  loseNextChargeAnswer = false;
  /** The next charge stays PENDING (the provider's answer is unknown to Payment). */
  leaveNextChargePending = false;

  private reach(what: string): void {
    this.calls.push(what);
    if (this.down) throw connectionRefused('payment');
  }

  async charge(
    paymentId: string,
    _orderId: string,
    amount: Money,
  ): Promise<Authorization> {
    this.reach('charge');
    const row = this.payments.get(paymentId);
    if (row?.state === 'tombstone' || row?.state === 'voided')
      return {approved: false, declineCode: 'voided_before_authorize'};
    if (!row) {
      if (this.leaveNextChargePending) {
        this.leaveNextChargePending = false;
        this.payments.set(paymentId, {
          state: 'pending',
          captured: undefined,
          refunds: new Map(),
        });
        throw new UnavailableError('payment unavailable: deadline exceeded');
      }
      this.payments.set(paymentId, {
        state: this.decline ? 'declined' : 'captured',
        captured: this.decline ? undefined : amount,
        refunds: new Map(),
      });
    }
    if (this.loseNextChargeAnswer) {
      this.loseNextChargeAnswer = false;
      throw new UnavailableError('payment unavailable: deadline exceeded');
    }
    const state = this.payments.get(paymentId)?.state;
    return state === 'declined'
      ? {approved: false, declineCode: 'card_declined'}
      : {approved: true};
  }

  async void(paymentId: string): Promise<void> {
    this.reach('void');
    const row = this.payments.get(paymentId);
    if (!row) {
      this.payments.set(paymentId, {
        state: 'tombstone',
        captured: undefined,
        refunds: new Map(),
      });
      return;
    }
    if (row.state === 'pending')
      throw new PaymentOutcomeUnknownError(paymentId);
    if (row.state === 'authorized') row.state = 'voided';
    if (row.state === 'captured' || row.state === 'partially_refunded')
      throw new PaymentCapturedError(paymentId);
  }

  async refund(
    paymentId: string,
    refundId: string,
    amount: Money,
  ): Promise<void> {
    this.reach('refund');
    const row = this.payments.get(paymentId);
    if (!row?.captured)
      throw new FailedPreconditionError(`payment ${paymentId} is not captured`);
    const earlier = row.refunds.get(refundId);
    if (earlier) {
      if (!earlier.equals(amount))
        throw new ConcurrentRequestError(`refund ${refundId} reused`);
      return;
    }
    const rest = row.captured.minus(this.refunded(paymentId));
    if (amount.compare(rest) > 0)
      throw new FailedPreconditionError(
        `refund ${amount.format()} exceeds ${rest.format()} left`,
      );
    row.refunds.set(refundId, amount);
    row.state = rest.equals(amount) ? 'refunded' : 'partially_refunded';
  }

  async state(paymentId: string): Promise<PaymentState | undefined> {
    this.reach('state');
    const s = this.payments.get(paymentId)?.state;
    return s === 'tombstone' ? 'voided' : s;
  }

  refunded(paymentId: string): Money {
    const row = this.payments.get(paymentId);
    let sum = Money.zero(row?.captured?.currencyCode ?? 'USD');
    for (const r of row?.refunds.values() ?? []) sum = sum.plus(r);
    return sum;
  }

  /** Resolves a PENDING payment as the provider finally says. */
  resolve(paymentId: string, captured: Money | undefined): void {
    const row = this.payments.get(paymentId);
    if (!row) return;
    row.state = captured ? 'captured' : 'declined';
    row.captured = captured;
  }
}

function intentKey(i: Pick<AfterSaleIntent, 'kind' | 'requestId'>): string {
  return `${i.kind}:${i.requestId}`;
}
