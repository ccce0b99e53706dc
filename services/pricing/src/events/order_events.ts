/**
 * The order events Pricing consumes: order.paid, the demand signal. Like an RPC handler
 * this is an edge: it decodes the Order service's protobuf and decides what the broker is
 * told. An event that cannot be read, or names no order or a line Pricing could not
 * store, is rejected as unrecordable: the broker moves it to the dead letters (never
 * acknowledged and lost, never redelivered forever).
 */
import {fromBinary} from '@bufbuild/protobuf';
import {timestampDate} from '@bufbuild/protobuf/wkt';
import * as ordereventsv1 from '../../../../gen/agora/order/v1/order_events_pb.js';
import {
  UnrecordableEventError,
  type IncomingEvent,
} from '../../../common/messaging/event_bus.js';
import type {Sale} from '../app/ports.js';

/** The sale an `order.paid` event reports (the demand signal); throws on unreadable bytes. */
function saleFromOrderEvent(body: Uint8Array): Sale {
  const event = fromBinary(ordereventsv1.OrderEventSchema, body);
  const order = event.order;
  return {
    orderId: order?.orderId ?? '',
    lines: (order?.lines ?? []).map(l => ({sku: l.sku, quantity: l.quantity})),
    soldAt: event.eventTime ? timestampDate(event.eventTime) : new Date(),
  };
}

/** The sale an order.paid event reports; throws UnrecordableEventError for a bad one. */
export function saleFromEvent(event: IncomingEvent): Sale {
  let sale: Sale;
  try {
    sale = saleFromOrderEvent(event.body);
  } catch (err) {
    throw new UnrecordableEventError(
      `order event ${event.eventId} is not an OrderEvent`,
      {cause: err},
    );
  }
  const bad = !sale.orderId
    ? 'it names no order'
    : sale.lines.find(l => !l.sku || !(l.quantity > 0))
      ? 'a line has no SKU or no units'
      : undefined;
  if (bad)
    throw new UnrecordableEventError(`order event ${event.eventId}: ${bad}`);
  return sale;
}

/**
 * The sales of events delivered together. One bad event fails the batch; the bus then
 * handles the events one at a time, so only that one is dead-lettered.
 */
export function salesFromOrderEvents(events: readonly IncomingEvent[]): Sale[] {
  return events.map(saleFromEvent);
}
