import {create, toBinary} from '@bufbuild/protobuf';
import {timestampFromDate} from '@bufbuild/protobuf/wkt';
import * as orderv1 from '../../../../gen/agora/order/v1/order_pb.js';
import {createLogger} from '../../../common/log/logger.js';
import type {IncomingEvent} from '../../../common/messaging/event_bus.js';
import {salesFromOrderEvents} from './order_events.js';

const paidAt = new Date('2026-11-26T10:00:00Z');

function paid(
  orderId: string,
  lines: Array<{sku: string; quantity: number}>,
): IncomingEvent {
  const body = toBinary(
    orderv1.OrderEventSchema,
    create(orderv1.OrderEventSchema, {
      eventId: `e-${orderId}`,
      type: orderv1.OrderEventType.PAID,
      eventTime: timestampFromDate(paidAt),
      order: {orderId, state: orderv1.OrderState.PAID, lines},
    }),
  );
  return {
    topic: 'order.paid',
    eventId: `e-${orderId}`,
    type: orderv1.OrderEventSchema.typeName,
    body,
  };
}

describe('salesFromOrderEvents()', () => {
  it('reads each paid order as the units sold per SKU at the event time', () => {
    const log = createLogger('pricing-test', 'error', () => {});
    expect(
      salesFromOrderEvents(
        [
          paid('o-1', [{sku: 'MUG', quantity: 2}]),
          paid('o-2', [{sku: 'CAP', quantity: 1}]),
        ],
        log,
      ),
    ).toEqual([
      {orderId: 'o-1', lines: [{sku: 'MUG', quantity: 2}], soldAt: paidAt},
      {orderId: 'o-2', lines: [{sku: 'CAP', quantity: 1}], soldAt: paidAt},
    ]);
  });

  it('drops, and logs, the events that could never be recorded, keeping the rest', () => {
    const lines: string[] = [];
    const log = createLogger('pricing-test', 'error', l => lines.push(l));
    const sales = salesFromOrderEvents(
      [
        {...paid('o-1', []), body: new Uint8Array([0xff, 0xff, 0xff])},
        paid('', [{sku: 'MUG', quantity: 1}]),
        paid('o-3', [{sku: 'MUG', quantity: 0}]),
        paid('o-4', [{sku: 'MUG', quantity: 1}]),
      ],
      log,
    );
    expect(sales.map(s => s.orderId)).toEqual(['o-4']);
    expect(lines.map(l => (JSON.parse(l) as {msg: string}).msg)).toEqual([
      'order event dropped: it is not an OrderEvent',
      'order event dropped: it names no order',
      'order event dropped: a line has no SKU or no units',
    ]);
  });
});
