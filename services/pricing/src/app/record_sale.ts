/**
 * Demand signal: units sold per SKU, from paid-order events. Recording sales reprices
 * the SKUs they touch when a demand rule could react.
 */
import type {PricingStore, Sale} from './ports.js';
import type {Reprice} from './reprice.js';

export class RecordSale {
  constructor(
    private readonly store: PricingStore,
    private readonly reprice: Reprice,
  ) {}

  /**
   * The sales of events delivered together (or of one event): stored in one call, then
   * one repricing of every SKU a demand rule watches among the orders that were new.
   * Idempotent per order: a redelivered event changes nothing.
   */
  async executeAll(sales: readonly Sale[]): Promise<void> {
    const fresh = new Set(await this.store.recordSales(sales));
    if (fresh.size === 0) return;
    const rules = (await this.store.rules()).filter(
      r => r.enabled && r.condition.kind === 'demand_at_or_above',
    );
    if (rules.length === 0) return;
    const sold = new Set(
      sales
        .filter(s => fresh.has(s.orderId))
        .flatMap(s => s.lines.map(l => l.sku)),
    );
    const skus = [...sold].filter(sku =>
      rules.some(r => r.sku === undefined || r.sku === sku),
    );
    if (skus.length > 0) await this.reprice.execute(skus, 'rule');
  }
}
