/**
 * Reads of current prices, and quotes.
 */
import {randomUUID} from 'node:crypto';
import {isCurrencyCode} from '../../../common/money/currency.js';
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import type {Price} from '../domain/price.js';
import {NoPriceError, priceBasket, type Quote} from '../domain/quote.js';
import type {Clock, PricingStore} from './ports.js';

export class QuotePrices {
  constructor(
    private readonly store: PricingStore,
    private readonly clock: Clock,
    private readonly quoteValidForMs: number,
  ) {}

  /** Current prices in request order; NOT_FOUND names the first SKU without one. */
  async prices(
    skus: readonly string[],
    currencyCode: string,
  ): Promise<Price[]> {
    checkCurrency(currencyCode);
    const found = await this.store.pricesIn(currencyCode, skus);
    return skus.map(sku => {
      const price = found.get(sku);
      if (!price) throw new NoPriceError(sku, currencyCode);
      return price;
    });
  }

  /** Prices a basket at the effective prices of this moment. */
  async quote(
    currencyCode: string,
    lines: ReadonlyArray<{sku: string; quantity: number}>,
  ): Promise<Quote> {
    checkCurrency(currencyCode);
    const prices = await this.store.pricesIn(
      currencyCode,
      lines.map(l => l.sku),
    );
    return priceBasket(
      randomUUID(),
      currencyCode,
      lines,
      prices,
      this.clock.now(),
      this.quoteValidForMs,
    );
  }
}

function checkCurrency(code: string): void {
  if (!isCurrencyCode(code)) {
    throw new InvalidArgumentError(
      'currency_code',
      `"${code}" is not an ISO 4217 currency code`,
    );
  }
}
