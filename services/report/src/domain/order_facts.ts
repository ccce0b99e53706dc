/**
 * What Report learns from the Order service's events, in Report's own terms.
 *
 * Report keeps its own copy of paid order lines (sale_line) instead of reading Order's
 * tables, so each fact is checked here before it is stored: a line that cannot be
 * summed exactly must never reach a report.
 */
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import type {Money} from '../../../common/money/money.js';

/**
 * Decimal places sale_line stores (NUMERIC(24,4)). Every ISO 4217 minor unit fits
 * (CLF and UYW have 4), so an amount at minor-unit scale is stored exactly; anything
 * finer would be rounded by PostgreSQL without a word, so it is refused instead.
 */
export const STORED_DECIMALS = 4;

/** One line of a paid order, at the price it was sold for. */
export interface SaleLine {
  /** 1-based position of the line in the order (the order's request order). */
  readonly lineNo: number;
  readonly sku: string;
  readonly quantity: number;
  readonly unitPrice: Money;
  readonly lineTotal: Money;
}

/** An order was paid: its lines count as sales at paidAt. */
export interface OrderPaid {
  readonly kind: 'paid';
  readonly eventId: string;
  readonly orderId: string;
  /** When the order was paid (the PAID event's time); it decides the report day. */
  readonly paidAt: Date;
  readonly lines: readonly SaleLine[];
}

/**
 * Money went back to the customer on an order: a cancellation (everything refunded) or
 * a refund. `refundedToDate` is the order's refunded amount right after the event, a
 * running total: with at-least-once delivery events can arrive twice or out of order,
 * and the largest running total per order is right however they arrive, where the
 * amount of each refund would have to be derived from the one before.
 */
export interface OrderRefunded {
  readonly kind: 'cancelled' | 'refunded';
  readonly eventId: string;
  readonly orderId: string;
  readonly at: Date;
  readonly refundedToDate: Money;
}

/** The order events Report acts on; others (failed) are acknowledged and dropped. */
export type OrderFact = OrderPaid | OrderRefunded;

/**
 * Checks a paid order before its lines are stored: at least one line, a SKU and a whole
 * quantity above 0 on each, unit price and line total in the same currency (a line is
 * stored with one currency code) and no finer than STORED_DECIMALS. Throws
 * InvalidArgumentError naming the line.
 *
 * The line total is taken as charged: it is not re-derived from unit price × quantity
 * here, because a report must show what was sold even if Order one day prices lines
 * differently (the Order aggregate already checks that product on its side).
 */
export function checkPaidOrder(order: OrderPaid): OrderPaid {
  if (!order.orderId)
    throw new InvalidArgumentError('order.order_id', 'is empty');
  if (order.lines.length === 0) {
    throw new InvalidArgumentError('order.lines', 'a paid order has no lines');
  }
  if (Number.isNaN(order.paidAt.getTime())) {
    throw new InvalidArgumentError('event_time', 'is not a valid time');
  }
  order.lines.forEach((line, i) => {
    const field = `order.lines[${i}]`;
    if (!line.sku) throw new InvalidArgumentError(`${field}.sku`, 'is empty');
    if (!Number.isSafeInteger(line.quantity) || line.quantity <= 0) {
      throw new InvalidArgumentError(
        `${field}.quantity`,
        `must be a whole number above 0, got ${line.quantity}`,
      );
    }
    if (line.unitPrice.currencyCode !== line.lineTotal.currencyCode) {
      throw new InvalidArgumentError(
        `${field}.line_total`,
        `is in ${line.lineTotal.currencyCode}, the unit price in ${line.unitPrice.currencyCode}`,
      );
    }
    checkStorable(line.unitPrice, `${field}.unit_price`);
    checkStorable(line.lineTotal, `${field}.line_total`);
  });
  return order;
}

/** Checks a refund fact; throws InvalidArgumentError naming the field. */
export function checkRefund(fact: OrderRefunded): OrderRefunded {
  if (!fact.orderId)
    throw new InvalidArgumentError('order.order_id', 'is empty');
  if (Number.isNaN(fact.at.getTime())) {
    throw new InvalidArgumentError('event_time', 'is not a valid time');
  }
  if (fact.refundedToDate.isNegative()) {
    throw new InvalidArgumentError('order.refunded_amount', 'is negative');
  }
  checkStorable(fact.refundedToDate, 'order.refunded_amount');
  return fact;
}

function checkStorable(amount: Money, field: string): void {
  if (amount.amount.decimalPlaces() > STORED_DECIMALS) {
    throw new InvalidArgumentError(
      field,
      `${amount.format()} has more than ${STORED_DECIMALS} decimal places`,
    );
  }
}
