/**
 * Low-stock alerts follow every stock change, inside the transaction that made it.
 */
import {
  alertTransition,
  isLowStock,
  type StockLevel,
} from '../domain/stock_level.js';
import type {InventoryTx} from './ports.js';

/**
 * Raises or clears alerts for levels that crossed their threshold. `before` gives, per
 * level, whether it was low before the change.
 */
export async function followAlerts(
  tx: InventoryTx,
  changes: ReadonlyArray<{wasLow: boolean; level: StockLevel}>,
): Promise<void> {
  for (const {wasLow, level} of changes) {
    const transition = alertTransition(wasLow, level);
    if (transition === 'raise') await tx.raiseAlert(level);
    else if (transition === 'clear') await tx.clearAlert(level);
  }
}

/** Whether a level was low before `reservedDelta` and `onHandDelta` were applied. */
export function wasLowBefore(
  level: StockLevel,
  onHandDelta: number,
  reservedDelta: number,
): boolean {
  return isLowStock({
    onHand: level.onHand - onHandDelta,
    reserved: level.reserved - reservedDelta,
    lowStockThreshold: level.lowStockThreshold,
  });
}
