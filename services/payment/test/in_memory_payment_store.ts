/**
 * A PaymentStore in memory, for use-case tests. It behaves like PgPaymentStore where
 * the use cases can tell: transactions run one at a time (as the row lock makes them do
 * for one payment), a transaction that throws leaves nothing behind, every read returns
 * a fresh object, and events are only "published" once their transaction committed.
 */
import type {
  PaymentStore,
  PaymentTx,
  ProviderReceipt,
} from '../src/app/ports.js';
import {
  Payment,
  type PaymentEvent,
  type PaymentProps,
  type Refund,
} from '../src/domain/payment.js';

interface State {
  payments: Map<string, PaymentProps>;
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
    refundOwners: new Map(state.refundOwners),
    receipts: [...state.receipts],
  };
}

export class InMemoryPaymentStore implements PaymentStore {
  private state: State = {
    payments: new Map(),
    refundOwners: new Map(),
    receipts: [],
  };
  private queue: Promise<unknown> = Promise.resolve();
  /** Outbox rows of committed transactions, in commit order. */
  readonly committedEvents: CommittedEvent[] = [];
  /** How many transactions ran (committed or not). */
  transactions = 0;

  async insert(payment: Payment): Promise<boolean> {
    return this.tx(tx => (tx as InMemoryTx).insert(payment));
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

  async find(paymentId: string): Promise<Payment | undefined> {
    const props = this.state.payments.get(paymentId);
    return props && Payment.restore(props);
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

  /** Stores a payment as if it had been committed earlier (test setup). */
  seed(payment: Payment): void {
    this.state.payments.set(payment.id, payment.snapshot());
    for (const r of payment.refunds) {
      this.state.refundOwners.set(r.refundId, payment.id);
    }
  }
}

class InMemoryTx implements PaymentTx {
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

  async lock(paymentId: string): Promise<Payment | undefined> {
    const props = this.draft.payments.get(paymentId);
    return props && Payment.restore(props);
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

  private queueEvents(payment: Payment): void {
    for (const event of payment.events) {
      this.events.push({paymentId: payment.id, event, state: payment.state});
    }
  }
}
