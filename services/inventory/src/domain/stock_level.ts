/**
 * Stock of one SKU in one warehouse, and the rules that hold for it.
 */
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import {FailedPreconditionError} from '../../../common/errors/domain_error.js';

/** The warehouse used when a request names none. */
export const DEFAULT_WAREHOUSE = 'main';

export interface StockLevel {
  readonly sku: string;
  readonly warehouseId: string;
  /** Units physically present, reserved ones included. */
  readonly onHand: number;
  /** Units held by active reservations. */
  readonly reserved: number;
  /** Alerts fire when available falls to or below this; 0 disables them. */
  readonly lowStockThreshold: number;
  /** +1 on every change; orders updates to the Redis mirror. */
  readonly version: number;
  readonly updatedAt: Date;
}

/** What can still be reserved. */
export function available(level: StockLevel): number {
  return level.onHand - level.reserved;
}

/** Whether a low-stock alert should hold for this level. */
export function isLowStock(
  level: Pick<StockLevel, 'onHand' | 'reserved' | 'lowStockThreshold'>,
): boolean {
  return (
    level.lowStockThreshold > 0 &&
    level.onHand - level.reserved <= level.lowStockThreshold
  );
}

/** Raise an alert when a level becomes low, clear it when it stops being low. */
export type AlertTransition = 'raise' | 'clear' | 'none';

export function alertTransition(
  wasLow: boolean,
  level: StockLevel,
): AlertTransition {
  const low = isLowStock(level);
  if (low && !wasLow) return 'raise';
  if (!low && wasLow) return 'clear';
  return 'none';
}

export type AdjustmentReason = 'restock' | 'correction' | 'return' | 'damage';

/**
 * Checks an adjustment against its reason: restocks and returns add units, damage removes
 * them, corrections go either way.
 */
export function checkAdjustment(delta: number, reason: AdjustmentReason): void {
  if ((reason === 'restock' || reason === 'return') && delta <= 0) {
    throw new InvalidArgumentError(
      'delta',
      `a ${reason} must add units (delta > 0)`,
    );
  }
  if (reason === 'damage' && delta >= 0) {
    throw new InvalidArgumentError(
      'delta',
      'a damage write-off must remove units (delta < 0)',
    );
  }
}

/** Throws unless on_hand after the adjustment still covers every reserved unit. */
export function checkAdjustedLevel(level: StockLevel, delta: number): void {
  const onHand = level.onHand + delta;
  if (onHand < 0) {
    throw new FailedPreconditionError(
      `SKU ${level.sku} in ${level.warehouseId} has ${level.onHand} on hand; cannot remove ${-delta}`,
      {sku: level.sku},
    );
  }
  if (onHand < level.reserved) {
    throw new FailedPreconditionError(
      `SKU ${level.sku} in ${level.warehouseId} has ${level.reserved} units reserved; on hand cannot go below that (asked for ${onHand})`,
      {sku: level.sku},
    );
  }
}
