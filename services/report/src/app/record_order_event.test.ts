import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import {Money} from '../../../common/money/money.js';
import {InMemoryReportStore} from '../../test/in_memory_report_store.js';
import type {OrderPaid} from '../domain/order_facts.js';
import {RecordOrderEvent} from './record_order_event.js';

const usd = (amount: string) => Money.parse(amount, 'USD');

function paid(overrides: Partial<OrderPaid> = {}): OrderPaid {
  return {
    kind: 'paid',
    eventId: 'e-1',
    orderId: 'o-1',
    paidAt: new Date('2026-11-26T23:59:59Z'),
    lines: [
      {
        lineNo: 1,
        sku: 'MUG',
        quantity: 2,
        unitPrice: usd('0.10'),
        lineTotal: usd('0.20'),
      },
      {
        lineNo: 2,
        sku: 'CAP',
        quantity: 1,
        unitPrice: usd('9.99'),
        lineTotal: usd('9.99'),
      },
    ],
    ...overrides,
  };
}

describe('RecordOrderEvent.execute()', () => {
  let store: InMemoryReportStore;
  let record: RecordOrderEvent;

  beforeEach(() => {
    store = new InMemoryReportStore();
    record = new RecordOrderEvent(store);
  });

  it('stores the lines of a paid order once, however often the event is delivered', async () => {
    expect(await record.execute(paid())).toBe('recorded');
    expect(await record.execute(paid())).toBe('duplicate');
    expect(await record.execute(paid({eventId: 'e-2'}))).toBe('duplicate');
    expect(store.lines.size).toBe(2);
    expect(store.lines.get('o-1/1')?.paidAt.toISOString()).toBe(
      '2026-11-26T23:59:59.000Z',
    );
  });

  it('rejects a paid order when a line has no units, and stores none of it', async () => {
    const order = paid();
    await expect(
      record.execute({
        ...order,
        lines: [order.lines[0], {...order.lines[1], quantity: 0}],
      }),
    ).rejects.toThrow('order.lines[1].quantity');
    expect(store.lines.size).toBe(0);
  });

  it('rejects a paid order when a line mixes currencies', async () => {
    const order = paid();
    const line = {...order.lines[0], lineTotal: Money.parse('0.20', 'EUR')};
    await expect(record.execute({...order, lines: [line]})).rejects.toThrow(
      InvalidArgumentError,
    );
  });

  it('rejects a paid order when an amount has more decimals than sale_line keeps', async () => {
    const order = paid();
    const line = {
      ...order.lines[0],
      unitPrice: usd('0.10001'),
      lineTotal: usd('0.20002'),
    };
    await expect(record.execute({...order, lines: [line]})).rejects.toThrow(
      'more than 4 decimal places',
    );
  });

  it('rejects a paid order when it has no lines', async () => {
    await expect(record.execute(paid({lines: []}))).rejects.toThrow(
      'order.lines',
    );
  });

  it('records a refund once per event id', async () => {
    const refund = {
      kind: 'refunded' as const,
      eventId: 'e-9',
      orderId: 'o-1',
      at: new Date('2026-11-27T10:00:00Z'),
      refundedToDate: usd('5.00'),
    };
    expect(await record.execute(refund)).toBe('recorded');
    expect(await record.execute(refund)).toBe('duplicate');
    expect(
      await record.execute({...refund, kind: 'cancelled', eventId: 'e-10'}),
    ).toBe('recorded');
    expect(store.refunds.size).toBe(2);
  });
});
