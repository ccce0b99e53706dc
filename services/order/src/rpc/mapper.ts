/**
 * Proto <-> domain for Order's API. The order events published on the bus, which carry
 * an order in this shape, are encoded in events/order_events.ts.
 */
import {create} from '@bufbuild/protobuf';
import {timestampFromDate} from '@bufbuild/protobuf/wkt';
import * as orderv1 from '../../../../gen/agora/order/v1/order_pb.js';
import {moneyToProto} from '../../../common/money/money_proto.js';
import type {FailureReason, Order, OrderState} from '../domain/order.js';

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
