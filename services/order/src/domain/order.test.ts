import {Money} from '../../../common/money/money.js';
import {Order} from './order.js';

const now = new Date('2026-11-26T10:00:00Z');
const usd = (a: string) => Money.parse(a, 'USD');

function placed(): Order {
  return Order.place({
    id: 'o-1',
    requestId: 'r-1',
    customerId: 'alice',
    lines: [
      {sku: 'A', quantity: 2, unitPrice: usd('19.99'), lineTotal: usd('39.98')},
      {sku: 'B', quantity: 1, unitPrice: usd('0.01'), lineTotal: usd('0.01')},
    ],
    quoteId: 'q-1',
    paymentId: 'p-1',
    reservationId: 'res-1',
    fingerprint: 'fp',
    createdAt: now,
  });
}

describe('Order', () => {
  it('totals its lines exactly', () => {
    expect(placed().total.toString()).toBe('39.99');
  });

  it('rejects a line whose total is not unit price × quantity', () => {
    expect(() =>
      Order.place({
        ...placed().snapshot(),
        lines: [
          {
            sku: 'A',
            quantity: 3,
            unitPrice: usd('0.10'),
            lineTotal: usd('0.31'),
          },
        ],
      }),
    ).toThrow('lines[0]');
  });

  it('records a paid event when marked paid, and only from PENDING', () => {
    const order = placed();
    order.markPaid(now);
    expect(order.state).toBe('paid');
    expect(order.pullEvents().map(e => e.type)).toEqual(['paid']);
    expect(() => order.markPaid(now)).toThrow('is PAID');
    expect(() => order.fail('internal', 'x', [], now)).toThrow('is PAID');
  });

  it('fails a pending order with its reason', () => {
    const order = placed();
    order.fail('payment_declined', 'payment declined: card_declined', [], now);
    expect(order.state).toBe('failed');
    expect(order.failureReason).toBe('payment_declined');
    expect(() => order.cancel(now)).toThrow('is FAILED');
  });

  describe('refund()', () => {
    it('moves through partial to full refund without losing a cent', () => {
      const order = placed();
      order.markPaid(now);
      order.refund(usd('10.00'), now);
      expect(order.state).toBe('partially_refunded');
      expect(order.refundable.toString()).toBe('29.99');
      order.refund(usd('29.99'), now);
      expect(order.state).toBe('refunded');
    });

    it('rejects more than what is left, another currency, and zero', () => {
      const order = placed();
      order.markPaid(now);
      expect(() => order.refund(usd('40.00'), now)).toThrow('left to refund');
      expect(() => order.refund(Money.parse('1.00', 'EUR'), now)).toThrow(
        'amount.currency_code',
      );
      expect(() => order.refund(usd('0'), now)).toThrow('greater than zero');
    });

    it('rejects refunding a pending order', () => {
      expect(() => placed().refund(usd('1.00'), now)).toThrow('is PENDING');
    });
  });

  it('cancels a partly refunded order and counts it fully refunded', () => {
    const order = placed();
    order.markPaid(now);
    order.refund(usd('5.00'), now);
    order.cancel(now);
    expect(order.state).toBe('cancelled');
    expect(order.refunded.equals(order.total)).toBe(true);
  });
});
