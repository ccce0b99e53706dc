/**
 * What Pricing's use cases need: its PostgreSQL store and the live market signals.
 */
import type {Money} from '../../../common/money/money.js';
import type {Price} from '../domain/price.js';
import type {PriceRule} from '../domain/price_rule.js';

export type ChangeCause = 'base_price_set' | 'rule';

/** One recorded change of an effective price. */
/** What a paid order sold: the demand signal. */
export interface Sale {
  orderId: string;
  lines: ReadonlyArray<{sku: string; quantity: number}>;
  soldAt: Date;
}

export interface PriceChange {
  readonly sku: string;
  readonly currencyCode: string;
  readonly oldPrice: Money | undefined;
  readonly newPrice: Money;
  readonly cause: ChangeCause;
  readonly ruleIds: readonly string[];
  readonly changedAt: Date;
}

export interface PricingStore {
  tx<T>(work: (tx: PricingTx) => Promise<T>): Promise<T>;
  /** Prices of SKUs in one currency, keyed by SKU (missing SKUs are absent). */
  pricesIn(
    currencyCode: string,
    skus: readonly string[],
  ): Promise<Map<string, Price>>;
  /** SKUs that have a price in any currency. */
  pricedSkus(): Promise<string[]>;
  rules(): Promise<PriceRule[]>;
  history(
    sku: string,
    currencyCode: string,
    limit: number,
    beforeId?: string,
  ): Promise<Array<PriceChange & {id: string}>>;
  /**
   * Records the units sold by orders, each order once (redelivered events are ignored),
   * atomically; returns the ids of the orders that were new.
   */
  recordSales(sales: readonly Sale[]): Promise<string[]>;
  /** Units of `sku` sold since `since`. */
  unitsSold(sku: string, since: Date): Promise<number>;
}

export interface PricingTx {
  /** Every price of a SKU (all currencies), row-locked. */
  lockPrices(sku: string): Promise<Price[]>;
  /** Creates or replaces a base price; the effective price is set with it. */
  upsertPrice(price: Price): Promise<void>;
  /**
   * Stores a new effective price if it differs from the stored one; false when another
   * replica already stored the same.
   */
  updateEffective(
    sku: string,
    effective: Money,
    appliedRuleIds: readonly string[],
  ): Promise<boolean>;
  /** Appends to the price history and queues the change event (outbox). */
  recordChange(change: PriceChange): Promise<void>;
  /**
   * Serializes rule creation (until the transaction ends) and counts the rules: all,
   * and those of `sku` (undefined: the rules that apply to every SKU).
   */
  lockAndCountRules(
    sku: string | undefined,
  ): Promise<{total: number; sameSku: number}>;
  insertRule(rule: PriceRule): Promise<void>;
  deleteRule(id: string): Promise<boolean>;
}

/** Live stock, as mirrored by Inventory to Redis. */
export interface StockSignals {
  /** Available units of a SKU, or undefined when unknown (Redis down, SKU not stocked). */
  available(sku: string): Promise<number | undefined>;
}

export interface Clock {
  now(): Date;
}
