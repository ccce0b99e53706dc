import {create, toBinary} from '@bufbuild/protobuf';
import {timestampFromDate} from '@bufbuild/protobuf/wkt';
import * as orderv1 from '../../../../gen/agora/order/v1/order_pb.js';
import * as ordereventsv1 from '../../../../gen/agora/order/v1/order_events_pb.js';
import {
  UnrecordableEventError,
  type IncomingEvent,
} from '../../../common/messaging/event_bus.js';
import {saleFromEvent, salesFromOrderEvents} from './order_events.js';

const paidAt = new Date('2026-11-26T10:00:00Z');

function paid(
  orderId: string,
  lines: Array<{sku: string; quantity: number}>,
): IncomingEvent {
  const body = toBinary(
    ordereventsv1.OrderEventSchema,
    create(ordereventsv1.OrderEventSchema, {
      eventId: `e-${orderId}`,
      type: ordereventsv1.OrderEventType.PAID,
      eventTime: timestampFromDate(paidAt),
      order: {orderId, state: orderv1.OrderState.PAID, lines},
    }),
  );
  return {
    topic: 'order.paid',
    eventId: `e-${orderId}`,
    type: ordereventsv1.OrderEventSchema.typeName,
    body,
  };
}

describe('salesFromOrderEvents()', () => {
  it('reads each paid order as the units sold per SKU at the event time', () => {
    expect(
      salesFromOrderEvents([
        paid('o-1', [{sku: 'MUG', quantity: 2}]),
        paid('o-2', [{sku: 'CAP', quantity: 1}]),
      ]),
    ).toEqual([
      {orderId: 'o-1', lines: [{sku: 'MUG', quantity: 2}], soldAt: paidAt},
      {orderId: 'o-2', lines: [{sku: 'CAP', quantity: 1}], soldAt: paidAt},
    ]);
  });
});

describe('saleFromEvent()', () => {
  it.each([
    [
      'is not an OrderEvent',
      {...paid('o-1', []), body: new Uint8Array([0xff, 0xff, 0xff])},
    ],
    ['names no order', paid('', [{sku: 'MUG', quantity: 1}])],
    ['has a line with no units', paid('o-3', [{sku: 'MUG', quantity: 0}])],
  ])(
    'rejects an event that %s as unrecordable (dead-lettered, not dropped)',
    (_why, event) => {
      expect(() => saleFromEvent(event)).toThrow(UnrecordableEventError);
    },
  );
});
