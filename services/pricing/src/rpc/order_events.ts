/**
 * The order events Pricing consumes: order.paid, the demand signal. Like an RPC handler
 * this is an edge: it decodes the Order service's protobuf and decides what the broker is
 * told. An event that cannot be read, or names no order or a line Pricing could not store,
 * is logged and dropped (acknowledged): redelivering it would fail the same way forever
 * and, with no dead-letter queue on the bus yet, only spin.
 */
import type {Logger} from '../../../common/log/logger.js';
import type {IncomingEvent} from '../../../common/messaging/event_bus.js';
import type {Sale} from '../app/ports.js';
import {saleFromOrderEvent} from './mapper.js';

/** The sales of `events`, without the ones that cannot be recorded. */
export function salesFromOrderEvents(
  events: readonly IncomingEvent[],
  log: Logger,
): Sale[] {
  const sales: Sale[] = [];
  for (const event of events) {
    const ids = {eventId: event.eventId, topic: event.topic};
    let sale: Sale;
    try {
      sale = saleFromOrderEvent(event.body);
    } catch (err) {
      log.error('order event dropped: it is not an OrderEvent', ids, err);
      continue;
    }
    const bad = !sale.orderId
      ? 'it names no order'
      : sale.lines.find(l => !l.sku || !(l.quantity > 0))
        ? 'a line has no SKU or no units'
        : undefined;
    if (bad) {
      log.error(`order event dropped: ${bad}`, ids);
      continue;
    }
    sales.push(sale);
  }
  return sales;
}
