/**
 * A PaymentStore in memory, for use-case tests. It behaves like PgPaymentStore where
 * the use cases can tell: transactions run one at a time (as the row lock makes them do
 * for one payment), a transaction that throws leaves nothing behind, every read returns
 * a fresh object, and events are only "published" once their transaction committed.
 */
import {Money} from '../../common/money/money.js';
import type {ScanQuery} from '../../common/paging/scan_cursor.js';
import type {
  LedgerBalances,
  LedgerCheck,
  LedgerFilter,
  PaymentStore,
  PaymentTx,
  ProviderReceipt,
} from '../src/app/ports.js';
import type {LedgerAccount, LedgerEntry} from '../src/domain/ledger.js';
import {
  Payment,
  VoidTombstone,
  type PaymentEvent,
  type PaymentProps,
  type PaymentRecord,
  type Refund,
} from '../src/domain/payment.js';

interface State {
  payments: Map<string, PaymentProps>;
  tombstones: Map<string, Date>;
  ledger: Array<{orderId: string; entry: LedgerEntry}>;
  /** refund id → payment id */
  refundOwners: Map<string, string>;
  receipts: ProviderReceipt[];
}

export interface CommittedEvent {
  paymentId: string;
  event: PaymentEvent;
  /** The payment's state when the event was written. */
  state: PaymentProps['state'];
}

function copy(state: State): State {
  return {
    payments: new Map(state.payments),
    tombstones: new Map(state.tombstones),
    ledger: [...state.ledger],
    refundOwners: new Map(state.refundOwners),
    receipts: [...state.receipts],
  };
}

export class InMemoryPaymentStore implements PaymentStore {
  private state: State = {
    payments: new Map(),
    tombstones: new Map(),
    ledger: [],
    refundOwners: new Map(),
    receipts: [],
  };
  private queue: Promise<unknown> = Promise.resolve();
  /** Outbox rows of committed transactions, in commit order. */
  readonly committedEvents: CommittedEvent[] = [];
  /** How many transactions ran (committed or not). */
  transactions = 0;

  async insertPending(payment: Payment): Promise<boolean> {
    return this.tx(tx => (tx as unknown as InMemoryTx).insert(payment));
  }

  async tx<T>(work: (tx: PaymentTx) => Promise<T>): Promise<T> {
    const run = async () => {
      this.transactions++;
      const draft = copy(this.state);
      const events: CommittedEvent[] = [];
      const result = await work(new InMemoryTx(draft, events));
      this.state = draft;
      this.committedEvents.push(...events);
      return result;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async find(paymentId: string): Promise<PaymentRecord | undefined> {
    return recordOf(this.state, paymentId);
  }

  async pendingBefore(before: Date, limit: number): Promise<string[]> {
    return [...this.state.payments.values()]
      .filter(p => p.state === 'pending' && p.createdAt < before)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .slice(0, limit)
      .map(p => p.id);
  }

  async ledgerBalances(filter: LedgerFilter): Promise<LedgerBalances> {
    const sums = new Map<string, {account: LedgerAccount; balance: Money}>();
    let transactionCount = 0;
    for (const {orderId, entry} of this.state.ledger) {
      if (filter.orderId && orderId !== filter.orderId) continue;
      const postings = entry.postings.filter(
        p =>
          !filter.currencyCode || p.amount.currencyCode === filter.currencyCode,
      );
      if (postings.length > 0) transactionCount++;
      for (const p of postings) {
        const key = `${p.amount.currencyCode} ${p.account}`;
        const sum = sums.get(key);
        sums.set(key, {
          account: p.account,
          balance: sum ? sum.balance.plus(p.amount) : p.amount,
        });
      }
    }
    const balances = [...sums.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, v]) => v);
    return {balances, transactionCount};
  }

  async scan(q: ScanQuery): Promise<Payment[]> {
    const key = (p: {updatedAt: Date; id: string}) =>
      `${p.updatedAt.toISOString()}|${p.id}`;
    const after =
      q.after && key({updatedAt: q.after.updatedAt, id: q.after.id});
    return [...this.state.payments.values()]
      .map(p => Payment.restore(p))
      .filter(
        p =>
          (!q.updatedSince || p.updatedAt >= q.updatedSince) &&
          (q.orderIds.length === 0 || q.orderIds.includes(p.orderId)) &&
          (!after || key(p) > after),
      )
      .sort((a, b) => (key(a) < key(b) ? -1 : 1))
      .slice(0, q.limit);
  }

  async checkLedger(limit: number): Promise<LedgerCheck> {
    const totals = new Map<string, Money>();
    const unbalanced: LedgerCheck['unbalanced'] = [];
    this.state.ledger.forEach(({orderId, entry}, i) => {
      const sums = new Map<string, Money>();
      for (const p of entry.postings) {
        const c = p.amount.currencyCode;
        sums.set(c, (sums.get(c) ?? Money.zero(c)).plus(p.amount));
        totals.set(c, (totals.get(c) ?? Money.zero(c)).plus(p.amount));
      }
      const off = [...sums.values()].find(m => !m.isZero());
      if (off || entry.postings.length < 2) {
        unbalanced.push({
          transactionId: String(i + 1),
          paymentId: '',
          orderId,
          kind: '',
          sum: off,
          postingCount: entry.postings.length,
        });
      }
    });
    return {
      unbalanced: unbalanced.slice(0, limit),
      unbalancedCount: unbalanced.length,
      totals: [...totals.values()],
      transactionCount: this.state.ledger.length,
    };
  }

  async listByOrder(orderId: string): Promise<Payment[]> {
    return [...this.state.payments.values()]
      .filter(p => p.orderId === orderId)
      .map(p => Payment.restore(p));
  }

  /** Committed receipts of provider calls. */
  get receipts(): readonly ProviderReceipt[] {
    return this.state.receipts;
  }

  /** The committed payment under `paymentId`; fails the test on a tombstone. */
  async payment(paymentId: string): Promise<Payment | undefined> {
    const found = await this.find(paymentId);
    if (found instanceof VoidTombstone) {
      throw new Error(`payment ${paymentId} is a tombstone`);
    }
    return found;
  }

  /** Committed ledger entries, oldest first. */
  get ledger(): ReadonlyArray<{orderId: string; entry: LedgerEntry}> {
    return this.state.ledger;
  }

  /** Stores a payment as if it had been committed earlier (test setup). */
  seed(payment: Payment): void {
    this.state.payments.set(payment.id, payment.snapshot());
    for (const r of payment.refunds) {
      this.state.refundOwners.set(r.refundId, payment.id);
    }
  }
}

class InMemoryTx implements PaymentTx {
  private readonly written = new WeakMap<
    Payment,
    {events: number; entries: number}
  >();
  constructor(
    private readonly draft: State,
    private readonly events: CommittedEvent[],
  ) {}

  async insert(payment: Payment): Promise<boolean> {
    if (this.draft.payments.has(payment.id)) return false;
    this.draft.payments.set(payment.id, payment.snapshot());
    this.queueEvents(payment);
    return true;
  }

  async lock(paymentId: string): Promise<PaymentRecord | undefined> {
    return recordOf(this.draft, paymentId);
  }

  async insertTombstone(tombstone: VoidTombstone): Promise<boolean> {
    if (recordOf(this.draft, tombstone.id)) return false;
    this.draft.tombstones.set(tombstone.id, tombstone.createdAt);
    return true;
  }

  async replaceTombstone(payment: Payment): Promise<void> {
    this.draft.tombstones.delete(payment.id);
    this.draft.payments.set(payment.id, payment.snapshot());
    this.queueEvents(payment);
  }

  async claimRefund(paymentId: string, refund: Refund): Promise<boolean> {
    if (this.draft.refundOwners.has(refund.refundId)) return false;
    this.draft.refundOwners.set(refund.refundId, paymentId);
    return true;
  }

  async save(payment: Payment, receipt?: ProviderReceipt): Promise<void> {
    this.draft.payments.set(payment.id, payment.snapshot());
    if (receipt) this.draft.receipts.push(receipt);
    this.queueEvents(payment);
  }

  /** Writes what `payment` recorded since its last save here, as PgPaymentTx does. */
  private queueEvents(payment: Payment): void {
    const done = this.written.get(payment) ?? {events: 0, entries: 0};
    this.written.set(payment, {
      events: payment.events.length,
      entries: payment.ledgerEntries.length,
    });
    for (const entry of payment.ledgerEntries.slice(done.entries)) {
      this.draft.ledger.push({orderId: payment.orderId, entry});
    }
    for (const event of payment.events.slice(done.events)) {
      this.events.push({paymentId: payment.id, event, state: payment.state});
    }
  }
}

function recordOf(state: State, paymentId: string): PaymentRecord | undefined {
  const tombstone = state.tombstones.get(paymentId);
  if (tombstone) return new VoidTombstone(paymentId, tombstone);
  const props = state.payments.get(paymentId);
  return props && Payment.restore(props);
}
