/**
 * Recomputes effective prices from base prices, rules and live signals, and records
 * every change (history + event). Called when a signal moves (stock, sales), when rules
 * change and when a base price is set.
 */
import {effectivePrice, type Price} from '../domain/price.js';
import type {MarketSignals, PriceRule} from '../domain/price_rule.js';
import type {
  ChangeCause,
  Clock,
  PricingStore,
  PricingTx,
  StockSignals,
} from './ports.js';

export class Reprice {
  constructor(
    private readonly store: PricingStore,
    private readonly stock: StockSignals,
    private readonly clock: Clock,
  ) {}

  /** Signals for one SKU; demand is read lazily, per window a rule asks for. */
  async signalsFor(
    sku: string,
    rules: readonly PriceRule[],
  ): Promise<MarketSignals> {
    const now = this.clock.now();
    const needsStock = rules.some(
      r => r.condition.kind === 'stock_at_or_below',
    );
    const available = needsStock ? await this.stock.available(sku) : undefined;
    const demand = new Map<number, number>();
    for (const r of rules) {
      if (
        r.condition.kind === 'demand_at_or_above' &&
        !demand.has(r.condition.windowMs)
      ) {
        const since = new Date(now.getTime() - r.condition.windowMs);
        demand.set(
          r.condition.windowMs,
          await this.store.unitsSold(sku, since),
        );
      }
    }
    return {available, unitsSold: windowMs => demand.get(windowMs) ?? 0};
  }

  /** Stock moved: reprices the SKUs a stock rule can touch (most moves touch none). */
  async afterStockMoved(skus: readonly string[]): Promise<number> {
    const rules = (await this.store.rules()).filter(
      r => r.enabled && r.condition.kind === 'stock_at_or_below',
    );
    const touched = skus.filter(sku =>
      rules.some(r => r.sku === undefined || r.sku === sku),
    );
    return touched.length > 0 ? this.execute(touched, 'rule') : 0;
  }

  /**
   * Demand windows slide with time, not only with sales: reprices the SKUs a demand
   * rule can touch (called periodically).
   */
  async refreshDemand(): Promise<number> {
    const rules = (await this.store.rules()).filter(
      r => r.enabled && r.condition.kind === 'demand_at_or_above',
    );
    if (rules.length === 0) return 0;
    const skus = rules.some(r => r.sku === undefined)
      ? await this.store.pricedSkus()
      : [...new Set(rules.map(r => r.sku as string))];
    return this.execute(skus, 'rule');
  }

  /** Reprices every currency of each SKU; returns how many prices changed. */
  async execute(
    skus: readonly string[],
    cause: ChangeCause = 'rule',
  ): Promise<number> {
    const rules = await this.store.rules();
    let changed = 0;
    for (const sku of skus) {
      const relevant = rules.filter(
        r => r.enabled && (r.sku === undefined || r.sku === sku),
      );
      const signals = await this.signalsFor(sku, relevant);
      changed += await this.store.tx(async tx => {
        let n = 0;
        for (const price of await tx.lockPrices(sku)) {
          if (
            await applyRules(
              tx,
              price,
              relevant,
              signals,
              cause,
              this.clock.now(),
            )
          )
            n++;
        }
        return n;
      });
    }
    return changed;
  }
}

/** Stores the new effective price of `price` when it moved; true when it did. */
export async function applyRules(
  tx: PricingTx,
  price: Price,
  rules: readonly PriceRule[],
  signals: MarketSignals,
  cause: ChangeCause,
  now: Date,
): Promise<boolean> {
  const {price: next, applied} = effectivePrice(
    price.base,
    price.sku,
    rules,
    signals,
  );
  const sameRules =
    applied.length === price.appliedRuleIds.length &&
    applied.every((id, i) => id === price.appliedRuleIds[i]);
  if (next.equals(price.effective) && sameRules) return false;
  if (!(await tx.updateEffective(price.sku, next, applied))) return false;
  if (!next.equals(price.effective)) {
    await tx.recordChange({
      sku: price.sku,
      currencyCode: next.currencyCode,
      oldPrice: price.effective,
      newPrice: next,
      cause,
      ruleIds: applied,
      changedAt: now,
    });
  }
  return true;
}
