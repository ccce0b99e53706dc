/**
 * SetBasePrice: the list price of a SKU in one currency.
 */
import type {Money} from '../../../common/money/money.js';
import {effectivePrice, type Price} from '../domain/price.js';
import type {Clock, PricingStore} from './ports.js';
import type {Reprice} from './reprice.js';

export class SetBasePrice {
  constructor(
    private readonly store: PricingStore,
    private readonly reprice: Reprice,
    private readonly clock: Clock,
  ) {}

  /** Sets the base price (positive, whole minor units); records the change if it moved. */
  async execute(sku: string, base: Money): Promise<Price> {
    base.assertChargeable('price');
    const rules = (await this.store.rules()).filter(
      r => r.enabled && (r.sku === undefined || r.sku === sku),
    );
    const signals = await this.reprice.signalsFor(sku, rules);
    const now = this.clock.now();
    return this.store.tx(async tx => {
      const existing = (await tx.lockPrices(sku)).find(
        p => p.base.currencyCode === base.currencyCode,
      );
      const {price: effective, applied} = effectivePrice(
        base,
        sku,
        rules,
        signals,
      );
      const price: Price = {
        sku,
        base,
        effective,
        appliedRuleIds: applied,
        updatedAt: now,
      };
      if (existing?.base.equals(base) && existing.effective.equals(effective))
        return existing;
      await tx.upsertPrice(price);
      if (!existing?.effective.equals(effective)) {
        await tx.recordChange({
          sku,
          currencyCode: base.currencyCode,
          oldPrice: existing?.effective,
          newPrice: effective,
          cause: 'base_price_set',
          ruleIds: applied,
          changedAt: now,
        });
      }
      return price;
    });
  }
}
