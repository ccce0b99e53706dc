/**
 * The order events Report consumes, and their mapping to Report's own facts. Like an
 * RPC handler, this is an edge: it decodes the Order service's protobuf, calls one use
 * case and decides what the broker is told: ack, requeue (any failure, up to the
 * queue's delivery limit), or dead-letter (an event that can never be recorded).
 */
import {fromBinary} from '@bufbuild/protobuf';
import {timestampDate} from '@bufbuild/protobuf/wkt';
import * as ordereventsv1 from '../../../../gen/agora/order/v1/order_events_pb.js';
import {
  DomainError,
  InvalidArgumentError,
} from '../../../common/errors/domain_error.js';
import type {Logger} from '../../../common/log/logger.js';
import {
  UnrecordableEventError,
  type IncomingEvent,
} from '../../../common/messaging/event_bus.js';
import {moneyFromProto} from '../../../common/money/money_proto.js';
import type {RecordOrderEvent} from '../app/record_order_event.js';
import type {OrderFact} from '../domain/order_facts.js';

/**
 * Decodes an order event into the fact Report records, or undefined for an event type
 * Report does not act on. Throws InvalidArgumentError for a message that cannot be read
 * as an OrderEvent or lacks what Report needs.
 */
export function orderFactFromEvent(
  event: IncomingEvent,
): OrderFact | undefined {
  if (event.type && event.type !== ordereventsv1.OrderEventSchema.typeName) {
    throw new InvalidArgumentError(
      'type',
      `expected ${ordereventsv1.OrderEventSchema.typeName}, got ${event.type}`,
    );
  }
  let message: ordereventsv1.OrderEvent;
  try {
    message = fromBinary(ordereventsv1.OrderEventSchema, event.body);
  } catch (err) {
    throw new InvalidArgumentError(
      'body',
      `is not an OrderEvent (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  const eventId = message.eventId || event.eventId;
  if (!eventId) throw new InvalidArgumentError('event_id', 'is empty');
  const order = message.order;
  if (!order) throw new InvalidArgumentError('order', 'is missing');
  if (!message.eventTime) {
    throw new InvalidArgumentError('event_time', 'is missing');
  }
  const at = timestampDate(message.eventTime);
  switch (message.type) {
    case ordereventsv1.OrderEventType.PAID:
      return {
        kind: 'paid',
        eventId,
        orderId: order.orderId,
        paidAt: at,
        lines: order.lines.map((line, i) => ({
          lineNo: i + 1,
          sku: line.sku,
          quantity: line.quantity,
          unitPrice: moneyFromProto(
            line.unitPrice,
            `order.lines[${i}].unit_price`,
          ),
          lineTotal: moneyFromProto(
            line.lineTotal,
            `order.lines[${i}].line_total`,
          ),
        })),
      };
    case ordereventsv1.OrderEventType.CANCELLED:
    case ordereventsv1.OrderEventType.REFUNDED:
      return {
        kind:
          message.type === ordereventsv1.OrderEventType.CANCELLED
            ? 'cancelled'
            : 'refunded',
        eventId,
        orderId: order.orderId,
        at,
        refundedToDate: moneyFromProto(
          order.refundedAmount,
          'order.refunded_amount',
        ),
      };
    default:
      return undefined;
  }
}

/** Whether an error means the event itself cannot be recorded (it never will be). */
function unrecordable(err: unknown): boolean {
  return err instanceof DomainError && err.kind === 'invalid_argument';
}

/**
 * The bus handler. A malformed event (or one whose facts must not be stored) is
 * rejected as unrecordable: the broker moves it to the dead letters at once, where it
 * waits for a fix and a replay instead of being acknowledged and lost. Any other error
 * (database down) rejects plainly, and the bus requeues the event.
 */
export function createOrderEventHandler(
  record: RecordOrderEvent,
  log: Logger,
): (event: IncomingEvent) => Promise<void> {
  return async event => {
    const ids = {eventId: event.eventId, topic: event.topic};
    try {
      const fact = orderFactFromEvent(event);
      if (!fact) {
        log.debug('order event ignored', ids);
        return;
      }
      const outcome = await record.execute(fact);
      log.debug(`order event ${outcome}`, {...ids, orderId: fact.orderId});
    } catch (err) {
      if (unrecordable(err)) {
        throw new UnrecordableEventError(
          `order event ${event.eventId} cannot be recorded`,
          {cause: err},
        );
      }
      throw err;
    }
  };
}

/**
 * The handler for events delivered together: the facts of all of them in one store
 * call. Any failure, an unrecordable event included, rejects the batch, and the bus
 * hands the events to the one-event handler one at a time (which dead-letters only the
 * unrecordable ones).
 */
export function createOrderEventBatchHandler(
  record: RecordOrderEvent,
  log: Logger,
): (events: IncomingEvent[]) => Promise<void> {
  return async events => {
    const facts: OrderFact[] = [];
    for (const event of events) {
      const fact = orderFactFromEvent(event);
      if (fact) facts.push(fact);
    }
    await record.executeAll(facts);
    log.debug('order events recorded', {events: events.length});
  };
}
