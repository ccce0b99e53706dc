/**
 * RecordOrderEvent: keeps Report's copy of sales up to date from the order events.
 *
 * Delivery is at least once, so every fact is stored idempotently: a redelivered PAID
 * event finds its lines already there (keyed by order and line number), a redelivered
 * refund finds its event id.
 */
import {
  checkPaidOrder,
  checkRefund,
  type OrderFact,
} from '../domain/order_facts.js';
import type {SalesStore} from './ports.js';

/** Whether the event changed anything (for logs and tests). */
export type RecordOutcome = 'recorded' | 'duplicate';

export class RecordOrderEvent {
  constructor(private readonly sales: SalesStore) {}

  /** Throws InvalidArgumentError for a fact that must not be stored (bad lines). */
  async execute(fact: OrderFact): Promise<RecordOutcome> {
    if (fact.kind === 'paid') {
      const added = await this.sales.recordSales([checkPaidOrder(fact)]);
      return added > 0 ? 'recorded' : 'duplicate';
    }
    // Refunds and cancellations are kept for a later net-revenue report; the sales
    // reports show gross sales of paid orders and do not subtract them (yet).
    const fresh = await this.sales.recordRefund(checkRefund(fact));
    return fresh ? 'recorded' : 'duplicate';
  }

  /**
   * The facts of events delivered together: every paid order in one store call.
   * Throws as execute() does; the caller then records the facts one at a time.
   */
  async executeAll(facts: readonly OrderFact[]): Promise<void> {
    const paid = facts.flatMap(f =>
      f.kind === 'paid' ? [checkPaidOrder(f)] : [],
    );
    if (paid.length > 0) await this.sales.recordSales(paid);
    for (const fact of facts)
      if (fact.kind !== 'paid')
        await this.sales.recordRefund(checkRefund(fact));
  }
}
