import {create, toBinary, type MessageInitShape} from '@bufbuild/protobuf';
import {timestampFromDate} from '@bufbuild/protobuf/wkt';
import * as orderv1 from '../../../../gen/agora/order/v1/order_pb.js';
import * as ordereventsv1 from '../../../../gen/agora/order/v1/order_events_pb.js';
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import {createLogger} from '../../../common/log/logger.js';
import {
  UnrecordableEventError,
  type IncomingEvent,
} from '../../../common/messaging/event_bus.js';
import {RecordOrderEvent} from '../app/record_order_event.js';
import {InMemoryReportStore} from '../../test/in_memory_report_store.js';
import {
  createOrderEventBatchHandler,
  createOrderEventHandler,
  orderFactFromEvent,
} from './order_events.js';

const paidAt = new Date('2026-11-26T23:30:00Z');

function orderEvent(
  type: ordereventsv1.OrderEventType,
  lines: Array<MessageInitShape<typeof orderv1.OrderLineSchema>> = [
    {
      sku: 'MUG',
      quantity: 3,
      unitPrice: {currencyCode: 'USD', amount: '0.10'},
      lineTotal: {currencyCode: 'USD', amount: '0.30'},
    },
  ],
  orderId = 'o-1',
): IncomingEvent {
  const message = create(ordereventsv1.OrderEventSchema, {
    eventId: `e-${orderId}`,
    type,
    eventTime: timestampFromDate(paidAt),
    order: {
      orderId,
      state: orderv1.OrderState.PAID,
      lines,
      total: {currencyCode: 'USD', amount: '0.30'},
      refundedAmount: {currencyCode: 'USD', amount: '0.30'},
    },
  });
  return {
    topic: 'order.paid',
    eventId: `e-${orderId}`,
    type: ordereventsv1.OrderEventSchema.typeName,
    body: toBinary(ordereventsv1.OrderEventSchema, message),
  };
}

describe('orderFactFromEvent()', () => {
  it('reads a PAID event as the order lines sold at the event time', () => {
    const fact = orderFactFromEvent(
      orderEvent(ordereventsv1.OrderEventType.PAID),
    );
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
      orderEvent(ordereventsv1.OrderEventType.CANCELLED),
    );
    expect(fact?.kind).toBe('cancelled');
    if (fact?.kind !== 'cancelled') return;
    expect(fact.refundedToDate.format()).toBe('0.30 USD');
    expect(
      orderFactFromEvent(orderEvent(ordereventsv1.OrderEventType.REFUNDED))
        ?.kind,
    ).toBe('refunded');
  });

  it('ignores FAILED events', () => {
    expect(
      orderFactFromEvent(orderEvent(ordereventsv1.OrderEventType.FAILED)),
    ).toBeUndefined();
  });

  it('rejects a body when it is not an OrderEvent', () => {
    const event = {
      ...orderEvent(ordereventsv1.OrderEventType.PAID),
      body: new Uint8Array([0xff, 0xff, 0xff]),
    };
    expect(() => orderFactFromEvent(event)).toThrow(InvalidArgumentError);
  });

  it('rejects an amount when it is not exact decimal money', () => {
    const event = orderEvent(ordereventsv1.OrderEventType.PAID, [
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
    await handle(orderEvent(ordereventsv1.OrderEventType.PAID));
    await handle(orderEvent(ordereventsv1.OrderEventType.PAID));
    expect(store.lines.size).toBe(1);
  });

  it('rejects a malformed event as unrecordable, so the bus dead-letters it instead of acknowledging it', async () => {
    const store = new InMemoryReportStore();
    const handle = createOrderEventHandler(new RecordOrderEvent(store), log);
    await expect(
      handle(orderEvent(ordereventsv1.OrderEventType.PAID, [])),
    ).rejects.toThrow(UnrecordableEventError);
    expect(store.lines.size).toBe(0);
  });

  it('rejects when the store fails, so the bus requeues the event', async () => {
    const store = new InMemoryReportStore();
    store.recordSales = async () => {
      throw new Error('connection refused');
    };
    const handle = createOrderEventHandler(new RecordOrderEvent(store), log);
    await expect(
      handle(orderEvent(ordereventsv1.OrderEventType.PAID)),
    ).rejects.toThrow('connection refused');
  });
});

describe('createOrderEventBatchHandler()', () => {
  const log = createLogger('report-test', 'error', () => {});
  const paidEvent = (orderId: string) =>
    orderEvent(ordereventsv1.OrderEventType.PAID, undefined, orderId);

  it('records the paid orders of every event in one store call, and the refunds', async () => {
    const store = new InMemoryReportStore();
    const calls: number[] = [];
    const recordSales = store.recordSales.bind(store);
    store.recordSales = async orders => {
      calls.push(orders.length);
      return recordSales(orders);
    };
    const handle = createOrderEventBatchHandler(
      new RecordOrderEvent(store),
      log,
    );
    await handle([
      paidEvent('o-1'),
      paidEvent('o-2'),
      orderEvent(ordereventsv1.OrderEventType.FAILED, undefined, 'o-4'),
      orderEvent(ordereventsv1.OrderEventType.REFUNDED, undefined, 'o-1'),
      paidEvent('o-3'),
    ]);
    expect(calls).toEqual([3]);
    expect([...store.lines.keys()].sort()).toEqual(['o-1/1', 'o-2/1', 'o-3/1']);
    expect([...store.refunds.keys()]).toEqual(['e-o-1']);
  });

  it('rejects the whole batch, storing nothing, when one event cannot be decoded', async () => {
    // The bus then handles each event alone: the good one is recorded, the bad one
    // dead-lettered.
    const store = new InMemoryReportStore();
    const handle = createOrderEventBatchHandler(
      new RecordOrderEvent(store),
      log,
    );
    await expect(
      handle([
        paidEvent('o-1'),
        {...paidEvent('o-2'), body: new Uint8Array([0xff, 0xff, 0xff])},
      ]),
    ).rejects.toThrow(InvalidArgumentError);
    expect(store.lines.size).toBe(0);
  });

  it('rejects the whole batch, storing nothing, when one paid order cannot be stored', async () => {
    // The bus then retries each event alone, and the one-event handler dead-letters the bad one.
    const store = new InMemoryReportStore();
    const handle = createOrderEventBatchHandler(
      new RecordOrderEvent(store),
      log,
    );
    await expect(
      handle([
        paidEvent('o-1'),
        orderEvent(ordereventsv1.OrderEventType.PAID, [], 'o-2'),
      ]),
    ).rejects.toThrow(InvalidArgumentError);
    expect(store.lines.size).toBe(0);
  });

  it('rejects when the store fails', async () => {
    const store = new InMemoryReportStore();
    store.recordSales = async () => {
      throw new Error('connection refused');
    };
    const handle = createOrderEventBatchHandler(
      new RecordOrderEvent(store),
      log,
    );
    await expect(handle([paidEvent('o-1')])).rejects.toThrow(
      'connection refused',
    );
  });
});
