/**
 * SetLowStockThreshold: the level at or below which a low-stock alert is raised.
 */
import {UnknownSkuError} from '../domain/errors.js';
import {
  DEFAULT_WAREHOUSE,
  isLowStock,
  type StockLevel,
} from '../domain/stock_level.js';
import {followAlerts} from './alerts.js';
import type {InventoryStore, StockMirror} from './ports.js';

export class SetLowStockThreshold {
  constructor(
    private readonly store: InventoryStore,
    private readonly mirror: StockMirror,
  ) {}

  /** Sets the threshold; raises or clears the alert when the level crosses it now. */
  async execute(
    sku: string,
    warehouseId: string | undefined,
    threshold: number,
  ): Promise<StockLevel> {
    const wh = warehouseId || DEFAULT_WAREHOUSE;
    const level = await this.store.tx(async tx => {
      const before = await tx.lockLevel(sku, wh);
      if (!before) throw new UnknownSkuError(sku, wh);
      const after = await tx.setThreshold(sku, wh, threshold);
      await followAlerts(tx, [{wasLow: isLowStock(before), level: after}]);
      return after;
    });
    await this.mirror.publish([level]);
    return level;
  }
}
