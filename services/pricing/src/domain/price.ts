/**
 * Prices: the base price of a SKU in a currency, and the effective price the rules make
 * of it.
 */
import {Money} from '../../../common/money/money.js';
import {
  ruleHolds,
  sortRules,
  type MarketSignals,
  type PriceRule,
} from './price_rule.js';

export interface Price {
  readonly sku: string;
  readonly base: Money;
  readonly effective: Money;
  readonly appliedRuleIds: readonly string[];
  /** When the base price was last set. */
  readonly updatedAt: Date;
}

/**
 * Applies every rule that holds, in priority order, each to the previous result and each
 * rounded to the minor unit (half away from zero), so what a customer is quoted is
 * always a chargeable amount. A price never falls below one minor unit.
 */
export function effectivePrice(
  base: Money,
  sku: string,
  rules: readonly PriceRule[],
  signals: MarketSignals,
): {price: Money; applied: string[]} {
  let price = base;
  const applied: string[] = [];
  for (const rule of sortRules(rules)) {
    if (!ruleHolds(rule, sku, signals)) continue;
    price = price.adjustByPercent(rule.adjustmentPercent);
    applied.push(rule.id);
  }
  const minimum = Money.of(`1e-${base.currency.exponent}`, base.currencyCode);
  if (price.compare(minimum) < 0) price = minimum;
  return {price, applied};
}
