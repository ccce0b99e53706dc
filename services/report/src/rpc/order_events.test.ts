import {create, toBinary, type MessageInitShape} from '@bufbuild/protobuf';
import {timestampFromDate} from '@bufbuild/protobuf/wkt';
import * as orderv1 from '../../../../gen/agora/order/v1/order_pb.js';
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import {createLogger} from '../../../common/log/logger.js';
import type {IncomingEvent} from '../../../common/messaging/event_bus.js';
import {RecordOrderEvent} from '../app/record_order_event.js';
import {InMemoryReportStore} from '../../test/in_memory_report_store.js';
import {createOrderEventHandler, orderFactFromEvent} from './order_events.js';

const paidAt = new Date('2026-11-26T23:30:00Z');

function orderEvent(
  type: orderv1.OrderEventType,
  lines: Array<MessageInitShape<typeof orderv1.OrderLineSchema>> = [
    {
      sku: 'MUG',
      quantity: 3,
      unitPrice: {currencyCode: 'USD', amount: '0.10'},
      lineTotal: {currencyCode: 'USD', amount: '0.30'},
    },
  ],
): IncomingEvent {
  const message = create(orderv1.OrderEventSchema, {
    eventId: 'e-1',
    type,
    eventTime: timestampFromDate(paidAt),
    order: {
      orderId: 'o-1',
      state: orderv1.OrderState.PAID,
      lines,
      total: {currencyCode: 'USD', amount: '0.30'},
      refundedAmount: {currencyCode: 'USD', amount: '0.30'},
    },
  });
  return {
    topic: 'order.paid',
    eventId: 'e-1',
    type: orderv1.OrderEventSchema.typeName,
    body: toBinary(orderv1.OrderEventSchema, message),
  };
}

describe('orderFactFromEvent()', () => {
  it('reads a PAID event as the order lines sold at the event time', () => {
    const fact = orderFactFromEvent(orderEvent(orderv1.OrderEventType.PAID));
    expect(fact?.kind).toBe('paid');
    if (fact?.kind !== 'paid') return;
    expect(fact.orderId).toBe('o-1');
    expect(fact.paidAt).toEqual(paidAt);
    expect(fact.lines).toHaveLength(1);
    expect(fact.lines[0].lineNo).toBe(1);
    expect(fact.lines[0].lineTotal.format()).toBe('0.30 USD');
  });

  it('reads CANCELLED and REFUNDED events as the refunded amount to date', () => {
    const fact = orderFactFromEvent(
      orderEvent(orderv1.OrderEventType.CANCELLED),
    );
    expect(fact?.kind).toBe('cancelled');
    if (fact?.kind !== 'cancelled') return;
    expect(fact.refundedToDate.format()).toBe('0.30 USD');
    expect(
      orderFactFromEvent(orderEvent(orderv1.OrderEventType.REFUNDED))?.kind,
    ).toBe('refunded');
  });

  it('ignores FAILED events', () => {
    expect(
      orderFactFromEvent(orderEvent(orderv1.OrderEventType.FAILED)),
    ).toBeUndefined();
  });

  it('rejects a body when it is not an OrderEvent', () => {
    const event = {
      ...orderEvent(orderv1.OrderEventType.PAID),
      body: new Uint8Array([0xff, 0xff, 0xff]),
    };
    expect(() => orderFactFromEvent(event)).toThrow(InvalidArgumentError);
  });

  it('rejects an amount when it is not exact decimal money', () => {
    const event = orderEvent(orderv1.OrderEventType.PAID, [
      {
        sku: 'MUG',
        quantity: 1,
        unitPrice: {currencyCode: 'USD', amount: '1e2'},
        lineTotal: {currencyCode: 'USD', amount: '100'},
      },
    ]);
    expect(() => orderFactFromEvent(event)).toThrow(
      'order.lines[0].unit_price.amount',
    );
  });
});

describe('createOrderEventHandler()', () => {
  const log = createLogger('report-test', 'error', () => {});

  it('records a paid order and acknowledges its redelivery without a second copy', async () => {
    const store = new InMemoryReportStore();
    const handle = createOrderEventHandler(new RecordOrderEvent(store), log);
    await handle(orderEvent(orderv1.OrderEventType.PAID));
    await handle(orderEvent(orderv1.OrderEventType.PAID));
    expect(store.lines.size).toBe(1);
  });

  it('acknowledges (drops) a malformed event instead of requeueing it forever', async () => {
    const store = new InMemoryReportStore();
    const lines: string[] = [];
    const handle = createOrderEventHandler(
      new RecordOrderEvent(store),
      createLogger('report-test', 'error', line => lines.push(line)),
    );
    await expect(
      handle(orderEvent(orderv1.OrderEventType.PAID, [])),
    ).resolves.toBeUndefined();
    expect(store.lines.size).toBe(0);
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 'error',
      msg: 'order event dropped: it cannot be recorded',
      eventId: 'e-1',
    });
  });

  it('rejects when the store fails, so the bus requeues the event', async () => {
    const store = new InMemoryReportStore();
    store.recordSale = async () => {
      throw new Error('connection refused');
    };
    const handle = createOrderEventHandler(new RecordOrderEvent(store), log);
    await expect(
      handle(orderEvent(orderv1.OrderEventType.PAID)),
    ).rejects.toThrow('connection refused');
  });
});
