/**
 * Proto <-> domain for Inventory's API. The only place that knows both shapes; the
 * low-stock events (events/inventory_events.ts) carry an alert in this shape.
 */
import {create} from '@bufbuild/protobuf';
import {timestampFromDate} from '@bufbuild/protobuf/wkt';
import * as inventoryv1 from '../../../../gen/agora/inventory/v1/inventory_pb.js';
import * as inventoryeventsv1 from '../../../../gen/agora/inventory/v1/inventory_events_pb.js';
import type {LowStockAlert} from '../app/ports.js';
import type {SkuStock} from '../app/read_stock.js';
import type {Reservation, ReservationState} from '../domain/reservation.js';
import {
  available,
  isLowStock,
  type AdjustmentReason,
  type StockLevel,
} from '../domain/stock_level.js';
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';

const STATES: Record<ReservationState, inventoryv1.ReservationState> = {
  active: inventoryv1.ReservationState.ACTIVE,
  committed: inventoryv1.ReservationState.COMMITTED,
  released: inventoryv1.ReservationState.RELEASED,
  expired: inventoryv1.ReservationState.EXPIRED,
};

const REASONS: Partial<
  Record<inventoryv1.StockAdjustmentReason, AdjustmentReason>
> = {
  [inventoryv1.StockAdjustmentReason.RESTOCK]: 'restock',
  [inventoryv1.StockAdjustmentReason.CORRECTION]: 'correction',
  [inventoryv1.StockAdjustmentReason.RETURN]: 'return',
  [inventoryv1.StockAdjustmentReason.DAMAGE]: 'damage',
};

export function reasonFromProto(
  reason: inventoryv1.StockAdjustmentReason,
): AdjustmentReason {
  const mapped = REASONS[reason];
  if (!mapped)
    throw new InvalidArgumentError(
      'reason',
      'must be RESTOCK, CORRECTION, RETURN or DAMAGE',
    );
  return mapped;
}

export function levelToProto(level: StockLevel): inventoryv1.StockLevel {
  return create(inventoryv1.StockLevelSchema, {
    sku: level.sku,
    warehouseId: level.warehouseId,
    onHand: level.onHand,
    reserved: level.reserved,
    available: available(level),
    lowStockThreshold: level.lowStockThreshold,
    lowStock: isLowStock(level),
    version: BigInt(level.version),
    updateTime: timestampFromDate(level.updatedAt),
  });
}

export function skuStockToProto(stock: SkuStock): inventoryv1.SkuStock {
  return create(inventoryv1.SkuStockSchema, {
    sku: stock.sku,
    onHand: stock.onHand,
    reserved: stock.reserved,
    available: stock.available,
    warehouses: stock.warehouses.map(levelToProto),
  });
}

export function reservationToProto(r: Reservation): inventoryv1.Reservation {
  return create(inventoryv1.ReservationSchema, {
    reservationId: r.id,
    orderId: r.orderId,
    state: STATES[r.state],
    lines: r.lines.map(l => ({
      sku: l.sku,
      warehouseId: l.warehouseId,
      quantity: l.quantity,
    })),
    expireTime: timestampFromDate(r.expiresAt),
    createTime: timestampFromDate(r.createdAt),
    updateTime: timestampFromDate(r.updatedAt),
  });
}

export function alertToProto(
  a: LowStockAlert,
): inventoryeventsv1.LowStockAlert {
  return create(inventoryeventsv1.LowStockAlertSchema, {
    alertId: a.id,
    sku: a.sku,
    warehouseId: a.warehouseId,
    state:
      a.state === 'active'
        ? inventoryeventsv1.LowStockAlertState.ACTIVE
        : inventoryeventsv1.LowStockAlertState.CLEARED,
    available: a.available,
    threshold: a.threshold,
    raiseTime: timestampFromDate(a.raisedAt),
    clearTime: a.clearedAt && timestampFromDate(a.clearedAt),
  });
}
