import {fromBinary} from '@bufbuild/protobuf';
import * as inventoryeventsv1 from '../../../../gen/agora/inventory/v1/inventory_events_pb.js';
import {alertEvent} from './inventory_events.js';

describe('alertEvent()', () => {
  it('encodes a raised alert as agora.inventory.v1.LowStockAlert under inventory.low_stock_alert', () => {
    const event = alertEvent({
      id: 'al-1',
      sku: 'A',
      warehouseId: 'w-1',
      state: 'active',
      available: 2,
      threshold: 5,
      raisedAt: new Date('2026-12-04T10:00:00Z'),
      clearedAt: undefined,
    });

    // The outbox stores this name and consumers decode by it: it must never change.
    expect(event.type).toBe('agora.inventory.v1.LowStockAlert');
    expect(event.topic).toBe('inventory.low_stock_alert');
    expect(event.eventId).toMatch(/^[0-9a-f-]{36}$/);
    const decoded = fromBinary(
      inventoryeventsv1.LowStockAlertSchema,
      event.body,
    );
    expect(decoded.alertId).toBe('al-1');
    expect(decoded.state).toBe(inventoryeventsv1.LowStockAlertState.ACTIVE);
    expect(decoded.available).toBe(2);
    expect(decoded.threshold).toBe(5);
    expect(decoded.clearTime).toBeUndefined();
  });
});
