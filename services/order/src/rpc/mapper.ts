/**
 * Proto <-> domain for Order, and the order events published on the bus.
 */
import {create, toBinary} from '@bufbuild/protobuf';
import {timestampFromDate} from '@bufbuild/protobuf/wkt';
import * as orderv1 from '../../../../gen/agora/order/v1/order_pb.js';
import * as ordereventsv1 from '../../../../gen/agora/order/v1/order_events_pb.js';
import type {OutgoingEvent} from '../../../common/messaging/event_bus.js';
import {ORDER_TOPICS} from '../../../common/messaging/topics.js';
import {moneyToProto} from '../../../common/money/money_proto.js';
import type {
  FailureReason,
  Order,
  OrderEvent,
  OrderEventType,
  OrderState,
} from '../domain/order.js';

const STATES: Record<OrderState, orderv1.OrderState> = {
  pending: orderv1.OrderState.PENDING,
  paid: orderv1.OrderState.PAID,
  failed: orderv1.OrderState.FAILED,
  cancelled: orderv1.OrderState.CANCELLED,
  partially_refunded: orderv1.OrderState.PARTIALLY_REFUNDED,
  refunded: orderv1.OrderState.REFUNDED,
};

const REASONS: Record<FailureReason, orderv1.FailureReason> = {
  out_of_stock: orderv1.FailureReason.OUT_OF_STOCK,
  payment_declined: orderv1.FailureReason.PAYMENT_DECLINED,
  payment_error: orderv1.FailureReason.PAYMENT_ERROR,
  inventory_error: orderv1.FailureReason.INVENTORY_ERROR,
  internal: orderv1.FailureReason.INTERNAL,
};

const EVENT_TYPES: Record<OrderEventType, ordereventsv1.OrderEventType> = {
  paid: ordereventsv1.OrderEventType.PAID,
  failed: ordereventsv1.OrderEventType.FAILED,
  cancelled: ordereventsv1.OrderEventType.CANCELLED,
  refunded: ordereventsv1.OrderEventType.REFUNDED,
};

export function orderToProto(order: Order): orderv1.Order {
  const s = order.snapshot();
  return create(orderv1.OrderSchema, {
    orderId: s.id,
    requestId: s.requestId,
    customerId: s.customerId,
    state: STATES[s.state],
    lines: s.lines.map(l => ({
      sku: l.sku,
      quantity: l.quantity,
      unitPrice: moneyToProto(l.unitPrice),
      lineTotal: moneyToProto(l.lineTotal),
    })),
    total: moneyToProto(s.total),
    refundedAmount: moneyToProto(s.refunded),
    quoteId: s.quoteId,
    paymentId: s.paymentId,
    reservationId: s.reservationId,
    failureReason: s.failureReason
      ? REASONS[s.failureReason]
      : orderv1.FailureReason.UNSPECIFIED,
    failureMessage: s.failureMessage,
    createTime: timestampFromDate(s.createdAt),
    updateTime: timestampFromDate(s.updatedAt),
  });
}

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
  return {
    topic: orderTopic(event.type),
    eventId: event.id,
    type: ordereventsv1.OrderEventSchema.typeName,
    body: toBinary(ordereventsv1.OrderEventSchema, message),
  };
}
