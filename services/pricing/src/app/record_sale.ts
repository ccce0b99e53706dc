/**
 * Demand signal: units sold per SKU, from paid-order events. Recording a sale reprices
 * the SKUs it touches when a demand rule could react.
 */
import type {Clock, PricingStore} from './ports.js';
import type {Reprice} from './reprice.js';

export class RecordSale {
  constructor(
    private readonly store: PricingStore,
    private readonly reprice: Reprice,
    private readonly clock: Clock,
  ) {}

  /** Idempotent per order: a redelivered event changes nothing. */
  async execute(
    orderId: string,
    lines: ReadonlyArray<{sku: string; quantity: number}>,
    soldAt: Date = this.clock.now(),
  ): Promise<void> {
    const fresh = await this.store.recordSale(orderId, lines, soldAt);
    if (!fresh) return;
    const rules = await this.store.rules();
    const skus = lines
      .map(l => l.sku)
      .filter(sku =>
        rules.some(
          r =>
            r.enabled &&
            r.condition.kind === 'demand_at_or_above' &&
            (r.sku === undefined || r.sku === sku),
        ),
      );
    if (skus.length > 0) await this.reprice.execute(skus, 'rule');
  }
}
