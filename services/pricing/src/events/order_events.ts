/**
 * The order events Pricing consumes: order.paid, the demand signal. Like an RPC handler
 * this is an edge: it decodes the Order service's protobuf and decides what the broker is
 * told. An event that cannot be read, or names no order or a line Pricing could not
 * store, is rejected as unrecordable: the broker moves it to the dead letters (never
 * acknowledged and lost, never redelivered forever).
 */
import {
  UnrecordableEventError,
  type IncomingEvent,
} from '../../../common/messaging/event_bus.js';
import type {Sale} from '../app/ports.js';
import {saleFromOrderEvent} from '../rpc/mapper.js';

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
