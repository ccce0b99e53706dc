/**
 * The integration events Inventory publishes: a low-stock alert raised or cleared, as
 * agora.inventory.v1.LowStockAlert (proto/agora/inventory/v1/inventory_events.proto),
 * written to the outbox in the same transaction as the stock change. The alert message
 * is also what ListLowStockAlerts and WatchLowStockAlerts answer, so rpc/mapper.ts maps
 * it; this file owns only the envelope. Consumers decode by the type name stored with
 * each row, so it must stay agora.inventory.v1.LowStockAlert.
 */
import * as inventoryeventsv1 from '../../../../gen/agora/inventory/v1/inventory_events_pb.js';
import {encodeEvent} from '../../../common/messaging/encode_event.js';
import type {OutgoingEvent} from '../../../common/messaging/event_bus.js';
import {LOW_STOCK_TOPIC} from '../../../common/messaging/topics.js';
import type {LowStockAlert} from '../app/ports.js';
import {alertToProto} from '../rpc/mapper.js';

/** The integration event for an alert raised or cleared (written to the outbox). */
export function alertEvent(a: LowStockAlert): OutgoingEvent {
  return encodeEvent(
    LOW_STOCK_TOPIC,
    inventoryeventsv1.LowStockAlertSchema,
    alertToProto(a),
  );
}
