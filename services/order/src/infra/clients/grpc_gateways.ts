/**
 * The saga's gateways to Pricing, Inventory and Payment over gRPC. Requests and answers
 * are mapped here and only here; peer errors come back as domain errors.
 */
import type {Client} from '@connectrpc/connect';
import * as inventoryv1 from '../../../../../gen/agora/inventory/v1/inventory_pb.js';
import type {InventoryService} from '../../../../../gen/agora/inventory/v1/inventory_service_pb.js';
import * as paymentv1 from '../../../../../gen/agora/payment/v1/payment_pb.js';
import type {PaymentService} from '../../../../../gen/agora/payment/v1/payment_service_pb.js';
import type {PricingService} from '../../../../../gen/agora/pricing/v1/pricing_service_pb.js';
import type {Money} from '../../../../common/money/money.js';
import {
  moneyFromProto,
  moneyToProto,
} from '../../../../common/money/money_proto.js';
import {callPeer, isKind} from '../../../../common/rpc/remote_error.js';
import {StockShortageError} from '../../domain/errors.js';
import type {OrderLine} from '../../domain/order.js';
import type {
  Authorization,
  InventoryGateway,
  PaymentGateway,
  PaymentState,
  PricingGateway,
  QuotedLine,
} from '../../app/ports.js';

export class GrpcPricingGateway implements PricingGateway {
  constructor(private readonly client: Client<typeof PricingService>) {}

  async quote(
    currencyCode: string,
    lines: ReadonlyArray<{sku: string; quantity: number}>,
  ) {
    const res = await callPeer('pricing', () =>
      this.client.createQuote({
        currencyCode,
        lines: lines.map(l => ({sku: l.sku, quantity: l.quantity})),
      }),
    );
    const quote = res.quote;
    if (!quote) throw new Error('pricing answered without a quote');
    const quoted: QuotedLine[] = quote.lines.map((l, i) => ({
      sku: l.sku,
      quantity: l.quantity,
      unitPrice: moneyFromProto(l.unitPrice, `quote.lines[${i}].unit_price`),
      lineTotal: moneyFromProto(l.lineTotal, `quote.lines[${i}].line_total`),
    }));
    return {
      quoteId: quote.quoteId,
      lines: quoted,
      total: moneyFromProto(quote.total, 'quote.total'),
    };
  }
}

const RESERVATION_STATES: Record<
  number,
  'active' | 'committed' | 'released' | 'expired'
> = {
  [inventoryv1.ReservationState.ACTIVE]: 'active',
  [inventoryv1.ReservationState.COMMITTED]: 'committed',
  [inventoryv1.ReservationState.RELEASED]: 'released',
  [inventoryv1.ReservationState.EXPIRED]: 'expired',
};

export class GrpcInventoryGateway implements InventoryGateway {
  constructor(private readonly client: Client<typeof InventoryService>) {}

  async reserve(
    reservationId: string,
    orderId: string,
    lines: readonly OrderLine[],
  ): Promise<void> {
    try {
      await callPeer('inventory', () =>
        this.client.reserveStock({
          reservationId,
          orderId,
          lines: lines.map(l => ({sku: l.sku, quantity: l.quantity})),
        }),
      );
    } catch (err) {
      if (isKind(err, 'failed_precondition'))
        throw new StockShortageError(err.message, {...err.details});
      throw err;
    }
  }

  async commit(reservationId: string): Promise<void> {
    await callPeer('inventory', () =>
      this.client.commitReservation({reservationId}),
    );
  }

  async release(reservationId: string): Promise<void> {
    try {
      await callPeer('inventory', () =>
        this.client.releaseReservation({reservationId}),
      );
    } catch (err) {
      if (!isKind(err, 'not_found')) throw err; // never reserved: nothing to give back
    }
  }

  async restock(
    requestId: string,
    sku: string,
    quantity: number,
    note: string,
  ): Promise<void> {
    await callPeer('inventory', () =>
      this.client.adjustStock({
        requestId,
        sku,
        delta: quantity,
        reason: inventoryv1.StockAdjustmentReason.RETURN,
        note,
      }),
    );
  }

  async reservationState(reservationId: string) {
    try {
      const res = await callPeer('inventory', () =>
        this.client.getReservation({reservationId}),
      );
      return res.reservation
        ? RESERVATION_STATES[res.reservation.state]
        : undefined;
    } catch (err) {
      if (isKind(err, 'not_found')) return undefined;
      throw err;
    }
  }
}

const PAYMENT_STATES: Record<number, PaymentState> = {
  [paymentv1.PaymentState.AUTHORIZED]: 'authorized',
  [paymentv1.PaymentState.DECLINED]: 'declined',
  [paymentv1.PaymentState.CAPTURED]: 'captured',
  [paymentv1.PaymentState.VOIDED]: 'voided',
  [paymentv1.PaymentState.PARTIALLY_REFUNDED]: 'partially_refunded',
  [paymentv1.PaymentState.REFUNDED]: 'refunded',
};

export class GrpcPaymentGateway implements PaymentGateway {
  constructor(private readonly client: Client<typeof PaymentService>) {}

  async charge(
    paymentId: string,
    orderId: string,
    amount: Money,
    token: string,
  ): Promise<Authorization> {
    const res = await callPeer('payment', () =>
      this.client.authorizePayment({
        paymentId,
        orderId,
        amount: moneyToProto(amount),
        paymentToken: token,
        capture: true,
      }),
    );
    const payment = res.payment;
    if (payment?.state === paymentv1.PaymentState.DECLINED) {
      return {approved: false, declineCode: payment.declineCode || 'declined'};
    }
    return {approved: true};
  }

  async void(paymentId: string): Promise<void> {
    try {
      await callPeer('payment', () => this.client.voidPayment({paymentId}));
    } catch (err) {
      if (!isKind(err, 'not_found')) throw err; // never authorized: nothing to void
    }
  }

  async refund(
    paymentId: string,
    refundId: string,
    amount: Money,
    reason: string,
  ): Promise<void> {
    await callPeer('payment', () =>
      this.client.refundPayment({
        paymentId,
        refundId,
        amount: moneyToProto(amount),
        reason,
      }),
    );
  }

  async state(paymentId: string): Promise<PaymentState | undefined> {
    try {
      const res = await callPeer('payment', () =>
        this.client.getPayment({paymentId}),
      );
      return res.payment ? PAYMENT_STATES[res.payment.state] : undefined;
    } catch (err) {
      if (isKind(err, 'not_found')) return undefined;
      throw err;
    }
  }
}
