/**
 * The saga's gateways to Pricing, Inventory and Payment over gRPC. Requests and answers
 * are mapped here and only here; peer errors come back as domain errors.
 */
import {create} from '@bufbuild/protobuf';
import {DurationSchema} from '@bufbuild/protobuf/wkt';
import type {Client} from '@connectrpc/connect';
import * as inventoryv1 from '../../../../../gen/agora/inventory/v1/inventory_pb.js';
import type {InventoryService} from '../../../../../gen/agora/inventory/v1/inventory_service_pb.js';
import * as paymentv1 from '../../../../../gen/agora/payment/v1/payment_pb.js';
import type {PaymentService} from '../../../../../gen/agora/payment/v1/payment_service_pb.js';
import type {PricingService} from '../../../../../gen/agora/pricing/v1/pricing_service_pb.js';
import {InvalidArgumentError} from '../../../../common/errors/domain_error.js';
import type {Money} from '../../../../common/money/money.js';
import {
  moneyFromProto,
  moneyToProto,
} from '../../../../common/money/money_proto.js';
import {callPeer, isKind} from '../../../../common/rpc/remote_error.js';
import {
  PaymentCapturedError,
  PaymentOutcomeUnknownError,
  StockShortageError,
} from '../../domain/errors.js';
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
    // An amount outside Money's range is the caller's basket's fault: the error names
    // the CreateOrder field, never this internal quote's.
    const quoted: QuotedLine[] = quote.lines.map((l, i) => ({
      sku: l.sku,
      quantity: l.quantity,
      unitPrice: quoteAmount(l.unitPrice, `lines[${i}].sku`, 'unit price'),
      lineTotal: quoteAmount(l.lineTotal, `lines[${i}].quantity`, 'line total'),
    }));
    return {
      quoteId: quote.quoteId,
      lines: quoted,
      total: quoteAmount(quote.total, 'lines', 'order total'),
    };
  }
}

function quoteAmount(
  message: Parameters<typeof moneyFromProto>[0],
  requestField: string,
  what: string,
): Money {
  try {
    return moneyFromProto(message, 'amount');
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    throw new InvalidArgumentError(
      requestField,
      `the ${what} (${message?.amount ?? 'none'}) is outside the supported range of amounts (18 integer digits); order fewer units`,
    );
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
    ttlMs: number,
  ): Promise<void> {
    // ReserveStock accepts 1 s to 24 h.
    const seconds = Math.min(86_400, Math.max(1, Math.ceil(ttlMs / 1000)));
    try {
      await callPeer('inventory', () =>
        this.client.reserveStock({
          reservationId,
          orderId,
          lines: lines.map(l => ({sku: l.sku, quantity: l.quantity})),
          ttl: create(DurationSchema, {seconds: BigInt(seconds)}),
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

  /**
   * VoidPayment as agreed with Payment: it tombstones an id it never saw, so success
   * means "charges nothing", whatever happened to the charge call. ABORTED with reason
   * PAYMENT_OUTCOME_UNKNOWN: Payment cannot tell yet. FAILED_PRECONDITION: captured
   * (or otherwise settled) — the state says whether a refund is due. NOT_FOUND (a
   * Payment that predates tombstones) proves nothing: the outcome stays unknown.
   */
  async void(paymentId: string): Promise<void> {
    try {
      await callPeer('payment', () => this.client.voidPayment({paymentId}));
    } catch (err) {
      if (isKind(err, 'aborted') || isKind(err, 'not_found'))
        throw new PaymentOutcomeUnknownError(paymentId);
      if (!isKind(err, 'failed_precondition')) throw err;
      const state = await this.state(paymentId);
      if (state === 'captured' || state === 'partially_refunded')
        throw new PaymentCapturedError(paymentId);
      if (state === 'declined' || state === 'voided' || state === 'refunded')
        return; // charges nothing
      throw new PaymentOutcomeUnknownError(paymentId);
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
      // A state this build does not know (PENDING, from a newer Payment) decides
      // nothing: it reads as pending.
      return res.payment
        ? (PAYMENT_STATES[res.payment.state] ?? 'pending')
        : undefined;
    } catch (err) {
      if (isKind(err, 'not_found')) return undefined;
      throw err;
    }
  }
}
