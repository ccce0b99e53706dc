import {fromBinary} from '@bufbuild/protobuf';
import {timestampDate} from '@bufbuild/protobuf/wkt';
import * as ordereventsv1 from '../../../../gen/agora/order/v1/order_events_pb.js';
import {Money} from '../../../common/money/money.js';
import {Order} from '../domain/order.js';
import {orderEvent, orderTopic} from './order_events.js';

const now = new Date('2026-12-04T10:00:00Z');

function paidOrder(): Order {
  const usd = (a: string) => Money.parse(a, 'USD');
  const order = Order.place({
    id: 'o-1',
    requestId: 'r-1',
    customerId: 'alice',
    lines: [
      {sku: 'A', quantity: 2, unitPrice: usd('19.99'), lineTotal: usd('39.98')},
    ],
    quoteId: 'q-1',
    paymentId: 'p-1',
    reservationId: 'res-1',
    fingerprint: 'fp',
    createdAt: now,
  });
  order.markPaid(now);
  return order;
}

describe('orderEvent()', () => {
  it('encodes the order after the change as agora.order.v1.OrderEvent under order.<type>', () => {
    const order = paidOrder();
    const [paid] = order.pullEvents();

    const event = orderEvent(order, paid);

    // The outbox stores this name and consumers decode by it: it must never change.
    expect(event.type).toBe('agora.order.v1.OrderEvent');
    expect(event.topic).toBe('order.paid');
    expect(event.eventId).toBe(paid.id);
    const decoded = fromBinary(ordereventsv1.OrderEventSchema, event.body);
    expect(decoded.eventId).toBe(paid.id);
    expect(decoded.type).toBe(ordereventsv1.OrderEventType.PAID);
    expect(decoded.order?.orderId).toBe('o-1');
    expect(decoded.order?.lines[0]?.lineTotal?.amount).toBe('39.98');
    expect(decoded.eventTime && timestampDate(decoded.eventTime)).toEqual(now);
  });
});

describe('orderTopic()', () => {
  it('names one routing key per event type', () => {
    expect(
      (['paid', 'failed', 'cancelled', 'refunded'] as const).map(orderTopic),
    ).toEqual([
      'order.paid',
      'order.failed',
      'order.cancelled',
      'order.refunded',
    ]);
  });
});
