/**
 * Quotes: a basket priced at this moment's effective prices.
 */
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import {Money} from '../../../common/money/money.js';
import {NotFoundError} from '../../../common/errors/domain_error.js';
import type {Price} from './price.js';

export interface QuoteLine {
  readonly sku: string;
  readonly quantity: number;
  readonly unitPrice: Money;
  readonly lineTotal: Money;
  readonly appliedRuleIds: readonly string[];
}

export interface Quote {
  readonly id: string;
  readonly currencyCode: string;
  readonly lines: readonly QuoteLine[];
  readonly total: Money;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/** The SKU has no price in the currency. */
export class NoPriceError extends NotFoundError {
  constructor(sku: string, currencyCode: string) {
    super(
      'price',
      `${sku}/${currencyCode}`,
      `SKU ${sku} has no ${currencyCode} price`,
    );
  }
}

/**
 * Prices each line (in request order) with `prices` (keyed by SKU). Line totals and the
 * total are exact: unit prices are already whole minor units.
 */
export function priceBasket(
  id: string,
  currencyCode: string,
  lines: ReadonlyArray<{sku: string; quantity: number}>,
  prices: ReadonlyMap<string, Price>,
  now: Date,
  validForMs: number,
): Quote {
  const seen = new Set<string>();
  let total = Money.zero(currencyCode);
  const priced = lines.map((line, i) => {
    if (seen.has(line.sku)) {
      throw new InvalidArgumentError(
        `lines[${i}].sku`,
        `SKU ${line.sku} appears more than once; send one line with the total quantity`,
      );
    }
    seen.add(line.sku);
    const price = prices.get(line.sku);
    if (!price) throw new NoPriceError(line.sku, currencyCode);
    // A quote is an answer others charge from: every amount in it must fit Money's
    // documented range, or the caller learns here which of its lines overflows.
    const lineTotal = price.effective
      .times(line.quantity)
      .assertInRange(`lines[${i}].quantity`, 'line total');
    total = total.plus(lineTotal).assertInRange('lines', 'basket total');
    return {
      sku: line.sku,
      quantity: line.quantity,
      unitPrice: price.effective,
      lineTotal,
      appliedRuleIds: price.appliedRuleIds,
    };
  });
  return {
    id,
    currencyCode,
    lines: priced,
    total,
    createdAt: now,
    expiresAt: new Date(now.getTime() + validForMs),
  };
}
