/**
 * Money: an exact amount of one ISO 4217 currency, on decimal.js.
 *
 * Never a JS number: binary floats cannot hold 0.10, and Math.round on cents is how
 * shops lose or invent money. Rounding happens only where a method says so, to the
 * currency's minor unit, half away from zero (the commercial rounding most price lists
 * and tax rules use).
 */
import {Decimal} from 'decimal.js';
import {DomainError, InvalidArgumentError} from '../errors/domain_error.js';
import {type Currency, findCurrency} from './currency.js';

/**
 * decimal.js rounds every result to `precision` significant digits (20 by default),
 * which would silently round an 18-digit amount times a quantity. 60 digits keeps every
 * sum and product of the amounts our API allows exact.
 */
export const Dec = Decimal.clone({
  precision: 60,
  rounding: Decimal.ROUND_HALF_UP,
});
export type Dec = Decimal;

const AMOUNT_PATTERN = /^-?(0|[1-9]\d{0,17})(\.\d{1,9})?$/;

/**
 * The integer digits an amount may have (the wire format above, agora.type.v1.Money):
 * arithmetic may go past it (10,000 × an 18-digit price), so results that leave the
 * service are checked with `assertInRange`.
 */
export const MAX_INTEGER_DIGITS = 18;
const LIMIT = new Dec(10).pow(MAX_INTEGER_DIGITS);

/** Two amounts of different currencies were combined. */
export class CurrencyMismatchError extends DomainError {
  constructor(a: string, b: string) {
    super(
      'invalid_argument',
      `cannot combine ${a} and ${b} amounts; convert first`,
      {currencies: `${a},${b}`},
    );
  }
}

export class Money {
  private constructor(
    readonly currency: Currency,
    readonly amount: Decimal,
  ) {}

  /**
   * Parses an exact decimal string (the wire format) in an ISO 4217 currency.
   * `field` names the request field in the error message.
   */
  static parse(amount: string, currencyCode: string, field = 'amount'): Money {
    const currency = findCurrency(currencyCode);
    if (!currency) {
      throw new InvalidArgumentError(
        `${field}.currency_code`,
        `"${currencyCode}" is not an ISO 4217 currency code`,
      );
    }
    if (!AMOUNT_PATTERN.test(amount)) {
      throw new InvalidArgumentError(
        `${field}.amount`,
        `"${amount}" is not an exact decimal amount such as "19.99"`,
      );
    }
    return new Money(currency, new Dec(amount));
  }

  /** An amount already known to be exact (from the database or arithmetic). */
  static of(amount: Decimal | string, currencyCode: string): Money {
    const currency = findCurrency(currencyCode);
    if (!currency) {
      throw new InvalidArgumentError(
        'currency_code',
        `"${currencyCode}" is not an ISO 4217 currency code`,
      );
    }
    return new Money(currency, new Dec(amount));
  }

  static zero(currencyCode: string): Money {
    return Money.of(new Dec(0), currencyCode);
  }

  get currencyCode(): string {
    return this.currency.code;
  }

  /** True when the amount has no more decimals than the currency's minor unit. */
  hasMinorUnitScale(): boolean {
    return this.amount.decimalPlaces() <= this.currency.exponent;
  }

  /**
   * Throws INVALID_ARGUMENT unless this is a chargeable amount: more than zero and no
   * finer than the minor unit (no 0.001 USD).
   */
  assertChargeable(field: string): this {
    if (!this.amount.isPositive() || this.amount.isZero()) {
      throw new InvalidArgumentError(field, 'must be greater than zero');
    }
    this.assertMinorUnitScale(field);
    return this;
  }

  /** Throws INVALID_ARGUMENT when the amount is finer than the currency's minor unit. */
  assertMinorUnitScale(field: string): this {
    if (!this.hasMinorUnitScale()) {
      throw new InvalidArgumentError(
        field,
        `${this.currency.code} amounts have at most ${this.currency.exponent} decimal places, got ${this.amount.toFixed()}`,
      );
    }
    return this;
  }

  /** True when the amount has at most MAX_INTEGER_DIGITS integer digits. */
  isInRange(): boolean {
    return this.amount.abs().lessThan(LIMIT);
  }

  /**
   * Throws INVALID_ARGUMENT naming `field` (a field of the caller's request) when the
   * amount has more integer digits than Money can carry.
   */
  assertInRange(field: string, what = 'amount'): this {
    if (!this.isInRange()) {
      throw new InvalidArgumentError(
        field,
        `the ${what} ${this.format()} exceeds the largest amount supported (${MAX_INTEGER_DIGITS} integer digits); order fewer units`,
      );
    }
    return this;
  }

  plus(other: Money): Money {
    this.sameCurrency(other);
    return new Money(this.currency, this.amount.plus(other.amount));
  }

  minus(other: Money): Money {
    this.sameCurrency(other);
    return new Money(this.currency, this.amount.minus(other.amount));
  }

  /** Exact product with a whole quantity (a unit price times units). */
  times(quantity: number): Money {
    if (!Number.isSafeInteger(quantity)) {
      throw new RangeError(`quantity must be an integer, got ${quantity}`);
    }
    return new Money(this.currency, this.amount.times(quantity));
  }

  /**
   * Adds `percent` per cent (negative to take off) and rounds to the minor unit, half
   * away from zero: 19.99 + 10 % = 21.989 → 21.99.
   */
  adjustByPercent(percent: Decimal | string): Money {
    const factor = new Dec(100).plus(percent).dividedBy(100);
    return new Money(
      this.currency,
      this.amount.times(factor),
    ).roundToMinorUnit();
  }

  /** Rounds to the currency's minor unit, half away from zero. */
  roundToMinorUnit(): Money {
    return new Money(
      this.currency,
      this.amount.toDecimalPlaces(
        this.currency.exponent,
        Decimal.ROUND_HALF_UP,
      ),
    );
  }

  /**
   * Splits this amount into parts proportional to `weights` without losing a minor unit:
   * each part is rounded down, and the units left over go to the parts with the largest
   * remainders (ties to the earlier part). 10.00 by [1, 1, 1] → 3.34, 3.33, 3.33.
   */
  allocate(weights: readonly number[]): Money[] {
    if (
      weights.length === 0 ||
      weights.some(w => !Number.isInteger(w) || w < 0)
    ) {
      throw new RangeError('weights must be non-negative integers');
    }
    const total = weights.reduce((a, b) => a + b, 0);
    if (total === 0) throw new RangeError('weights must not all be zero');
    this.assertMinorUnitScale('amount');
    const scale = new Dec(10).pow(this.currency.exponent);
    const units = this.amount.times(scale); // whole minor units
    const sign = units.isNegative() ? -1 : 1;
    const absUnits = units.abs();
    const exact = weights.map(w => absUnits.times(w).dividedBy(total));
    const floors = exact.map(e => e.floor());
    let left = absUnits.minus(floors.reduce((a, b) => a.plus(b), new Dec(0)));
    const order = exact
      .map((e, i) => ({i, rem: e.minus(floors[i])}))
      .sort((a, b) => b.rem.comparedTo(a.rem) || a.i - b.i);
    for (const {i} of order) {
      if (left.lte(0)) break;
      floors[i] = floors[i].plus(1);
      left = left.minus(1);
    }
    return floors.map(
      f => new Money(this.currency, f.times(sign).dividedBy(scale)),
    );
  }

  isZero(): boolean {
    return this.amount.isZero();
  }

  isNegative(): boolean {
    return this.amount.isNegative() && !this.amount.isZero();
  }

  compare(other: Money): number {
    this.sameCurrency(other);
    return this.amount.comparedTo(other.amount);
  }

  equals(other: Money): boolean {
    return (
      this.currency.code === other.currency.code &&
      this.amount.equals(other.amount)
    );
  }

  /**
   * The canonical wire string: at least the currency's decimals ("20.00"), more only
   * when the amount really has them (unrounded intermediate values).
   */
  toString(): string {
    const places = Math.max(
      this.currency.exponent,
      this.amount.decimalPlaces(),
    );
    return this.amount.toFixed(places);
  }

  /** `"19.99 USD"`, for messages meant for people. */
  format(): string {
    return `${this.toString()} ${this.currency.code}`;
  }

  private sameCurrency(other: Money): void {
    if (other.currency.code !== this.currency.code) {
      throw new CurrencyMismatchError(this.currency.code, other.currency.code);
    }
  }
}
