/**
 * AdjustStock: restock, correct, return or write off units outside a reservation.
 */
import {IdempotencyConflictError} from '../../../common/errors/domain_error.js';
import {fingerprint} from '../../../common/idempotency/fingerprint.js';
import {UnknownSkuError} from '../domain/errors.js';
import {
  checkAdjustedLevel,
  checkAdjustment,
  DEFAULT_WAREHOUSE,
  isLowStock,
  type AdjustmentReason,
  type StockLevel,
} from '../domain/stock_level.js';
import {followAlerts} from './alerts.js';
import type {InventoryStore, StockMirror} from './ports.js';

export interface AdjustStockCommand {
  requestId: string;
  sku: string;
  warehouseId?: string;
  delta: number;
  reason: AdjustmentReason;
  note: string;
}

export class AdjustStock {
  constructor(
    private readonly store: InventoryStore,
    private readonly mirror: StockMirror,
  ) {}

  /**
   * Applies the adjustment once per request id. Restocking an unknown SKU creates it;
   * any other reason needs an existing stock record.
   */
  async execute(cmd: AdjustStockCommand): Promise<StockLevel> {
    checkAdjustment(cmd.delta, cmd.reason);
    const warehouseId = cmd.warehouseId || DEFAULT_WAREHOUSE;
    const print = fingerprint({...cmd, warehouseId});
    const {level, changed} = await this.store.tx(async tx => {
      let before = await tx.lockLevel(cmd.sku, warehouseId);
      if (!before) {
        if (cmd.reason !== 'restock')
          throw new UnknownSkuError(cmd.sku, warehouseId);
        before = await tx.createLevel(cmd.sku, warehouseId);
      }
      const fresh = await tx.recordAdjustment({
        requestId: cmd.requestId,
        sku: cmd.sku,
        warehouseId,
        delta: cmd.delta,
        reason: cmd.reason,
        note: cmd.note,
        fingerprint: print,
      });
      if (!fresh) {
        const prior = await tx.existingAdjustment(cmd.requestId);
        if (prior?.fingerprint !== print) {
          throw new IdempotencyConflictError('request_id', cmd.requestId);
        }
        return {level: before, changed: false};
      }
      checkAdjustedLevel(before, cmd.delta);
      const after = await tx.addOnHand(cmd.sku, warehouseId, cmd.delta);
      await followAlerts(tx, [{wasLow: isLowStock(before), level: after}]);
      return {level: after, changed: true};
    });
    if (changed) await this.mirror.publish([level]);
    return level;
  }
}
