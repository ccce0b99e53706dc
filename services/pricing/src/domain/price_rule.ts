/**
 * Dynamic pricing rules: a percentage added to (or taken off) the base price while a
 * condition on live signals holds: the SKU's available stock, or how many units sold
 * recently.
 */
import {Decimal} from 'decimal.js';
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import {Dec} from '../../../common/money/money.js';

export type RuleCondition =
  | {kind: 'stock_at_or_below'; threshold: number}
  | {kind: 'demand_at_or_above'; units: number; windowMs: number};

export interface PriceRule {
  readonly id: string;
  readonly name: string;
  /** undefined applies the rule to every SKU. */
  readonly sku: string | undefined;
  readonly condition: RuleCondition;
  /** Exact percentage, e.g. "10" or "-12.5". */
  readonly adjustmentPercent: Decimal;
  readonly priority: number;
  readonly enabled: boolean;
  readonly createdAt: Date;
}

/** The live facts rules are evaluated against, for one SKU. */
export interface MarketSignals {
  /** Available units over all warehouses; undefined when unknown (then stock rules do not hold). */
  available: number | undefined;
  /** Units sold within the last `windowMs`. */
  unitsSold(windowMs: number): number;
}

export const MIN_ADJUSTMENT = new Dec(-90);
export const MAX_ADJUSTMENT = new Dec(500);
const MAX_WINDOW_MS = 30 * 24 * 3600 * 1000;
/** Thresholds and demand counts above this are typos, not rules. */
const MAX_UNITS = 1_000_000;

/** Checks a new rule's numbers; throws INVALID_ARGUMENT naming the field. */
export function checkRule(
  condition: RuleCondition,
  adjustmentPercent: string,
): Decimal {
  const pct = new Dec(adjustmentPercent);
  if (pct.isZero() || pct.lt(MIN_ADJUSTMENT) || pct.gt(MAX_ADJUSTMENT)) {
    throw new InvalidArgumentError(
      'adjustment_percent',
      `must be between ${MIN_ADJUSTMENT} and ${MAX_ADJUSTMENT} and not 0, got ${adjustmentPercent}`,
    );
  }
  if (condition.kind === 'stock_at_or_below') {
    if (
      !Number.isInteger(condition.threshold) ||
      condition.threshold < 0 ||
      condition.threshold > MAX_UNITS
    ) {
      throw new InvalidArgumentError(
        'stock_at_or_below.threshold',
        `must be 0 to ${MAX_UNITS}`,
      );
    }
  } else {
    if (
      !Number.isInteger(condition.units) ||
      condition.units < 1 ||
      condition.units > MAX_UNITS
    ) {
      throw new InvalidArgumentError(
        'demand_at_or_above.units',
        `must be 1 to ${MAX_UNITS}`,
      );
    }
    if (condition.windowMs < 1000 || condition.windowMs > MAX_WINDOW_MS) {
      throw new InvalidArgumentError(
        'demand_at_or_above.window',
        'must be between 1s and 30 days',
      );
    }
  }
  return pct;
}

/** Whether a rule applies to a SKU right now. */
export function ruleHolds(
  rule: PriceRule,
  sku: string,
  signals: MarketSignals,
): boolean {
  if (!rule.enabled || (rule.sku !== undefined && rule.sku !== sku))
    return false;
  const c = rule.condition;
  if (c.kind === 'stock_at_or_below') {
    return signals.available !== undefined && signals.available <= c.threshold;
  }
  return signals.unitsSold(c.windowMs) >= c.units;
}

/** Rules in the order they apply: priority, then age, then id (a total order). */
export function sortRules(rules: readonly PriceRule[]): PriceRule[] {
  return [...rules].sort(
    (a, b) =>
      a.priority - b.priority ||
      a.createdAt.getTime() - b.createdAt.getTime() ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}
