/**
 * Makes low-stock alerts agree with stock levels. Alerts are raised right after the
 * change that crosses a threshold; this sweep catches the ones a crash (or a concurrent
 * change) left behind, so alerts are never wrong for long.
 */
import {isLowStock} from '../domain/stock_level.js';
import type {InventoryStore} from './ports.js';

export class ReconcileAlerts {
  constructor(private readonly store: InventoryStore) {}

  /** One pass; returns how many alerts were raised or cleared. */
  async execute(limit = 500): Promise<number> {
    const stale = await this.store.levelsWithStaleAlerts(limit);
    for (const {level, alertOpen} of stale) {
      await this.store.tx(async tx => {
        const current = await tx.lockLevel(level.sku, level.warehouseId);
        if (!current) return;
        if (isLowStock(current) && !alertOpen) await tx.raiseAlert(current);
        if (!isLowStock(current) && alertOpen) await tx.clearAlert(current);
      });
    }
    return stale.length;
  }
}
