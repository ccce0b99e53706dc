/**
 * The integration events Order publishes: one agora.order.v1.OrderEvent (see
 * proto/agora/order/v1/order_events.proto) per state change that ends a step, written to
 * the outbox in the same statement as the change. The order inside is the RPC shape, so
 * it comes from rpc/mapper.ts; this file owns only the envelope (topic, event id, type
 * name, bytes). Consumers decode by the type name stored with each row, so it must stay
 * agora.order.v1.OrderEvent.
 */
import {create} from '@bufbuild/protobuf';
import {timestampFromDate} from '@bufbuild/protobuf/wkt';
import * as ordereventsv1 from '../../../../gen/agora/order/v1/order_events_pb.js';
import {encodeEvent} from '../../../common/messaging/encode_event.js';
import type {OutgoingEvent} from '../../../common/messaging/event_bus.js';
import {ORDER_TOPICS} from '../../../common/messaging/topics.js';
import type {Order, OrderEvent, OrderEventType} from '../domain/order.js';
import {orderToProto} from '../rpc/mapper.js';

const EVENT_TYPES: Record<OrderEventType, ordereventsv1.OrderEventType> = {
  paid: ordereventsv1.OrderEventType.PAID,
  failed: ordereventsv1.OrderEventType.FAILED,
  cancelled: ordereventsv1.OrderEventType.CANCELLED,
  refunded: ordereventsv1.OrderEventType.REFUNDED,
};

/** Routing key of an order event: order.paid, order.failed, order.cancelled, order.refunded. */
export function orderTopic(type: OrderEventType): string {
  return ORDER_TOPICS[type];
}

/** The integration event written to the outbox with a state change. */
export function orderEvent(order: Order, event: OrderEvent): OutgoingEvent {
  const message = create(ordereventsv1.OrderEventSchema, {
    eventId: event.id,
    type: EVENT_TYPES[event.type],
    order: orderToProto(order),
    eventTime: timestampFromDate(event.at),
  });
  return encodeEvent(
    orderTopic(event.type),
    ordereventsv1.OrderEventSchema,
    message,
    event.id,
  );
}
