/**
 * Reconciliation's sources over gRPC: Payment's ScanPayments and CheckLedger, Inventory's
 * ScanReservations and CheckStockMirror. Each scan is read to its last page here, so the
 * use case sees whole sets; the pass's window bounds them.
 */
import {timestampDate, timestampFromDate} from '@bufbuild/protobuf/wkt';
import type {Client} from '@connectrpc/connect';
import * as inventoryv1 from '../../../../../gen/agora/inventory/v1/inventory_pb.js';
import type {InventoryService} from '../../../../../gen/agora/inventory/v1/inventory_service_pb.js';
import * as paymentv1 from '../../../../../gen/agora/payment/v1/payment_pb.js';
import type {PaymentService} from '../../../../../gen/agora/payment/v1/payment_service_pb.js';
import {Money} from '../../../../common/money/money.js';
import {moneyFromProto} from '../../../../common/money/money_proto.js';
import {secondsOfDuration} from '../../../../common/rpc/durations.js';
import {callPeer} from '../../../../common/rpc/remote_error.js';
import type {
  PaymentFactState,
  PaymentFacts,
  ReservationFacts,
} from '../../domain/reconciliation.js';
import type {ReconcileSources} from '../../app/ports.js';

const PAGE_SIZE = 500;

const PAYMENT_STATES: Record<number, PaymentFactState> = {
  [paymentv1.PaymentState.PENDING]: 'pending',
  [paymentv1.PaymentState.AUTHORIZED]: 'authorized',
  [paymentv1.PaymentState.DECLINED]: 'declined',
  [paymentv1.PaymentState.CAPTURED]: 'captured',
  [paymentv1.PaymentState.VOIDED]: 'voided',
  [paymentv1.PaymentState.PARTIALLY_REFUNDED]: 'partially_refunded',
  [paymentv1.PaymentState.REFUNDED]: 'refunded',
};

const RESERVATION_STATES: Record<number, ReservationFacts['state']> = {
  [inventoryv1.ReservationState.ACTIVE]: 'active',
  [inventoryv1.ReservationState.COMMITTED]: 'committed',
  [inventoryv1.ReservationState.RELEASED]: 'released',
  [inventoryv1.ReservationState.EXPIRED]: 'expired',
};

function paymentFacts(p: paymentv1.Payment): PaymentFacts {
  const amount = moneyFromProto(p.amount, 'payment.amount');
  const zero = Money.zero(amount.currencyCode);
  return {
    id: p.paymentId,
    orderId: p.orderId,
    // A state this build does not know is treated as unknown: never repaired.
    state: PAYMENT_STATES[p.state] ?? 'pending',
    amount,
    captured: p.capturedAmount
      ? moneyFromProto(p.capturedAmount, 'payment.captured_amount')
      : zero,
    refunded: p.refundedAmount
      ? moneyFromProto(p.refundedAmount, 'payment.refunded_amount')
      : zero,
    updatedAt: p.updateTime ? timestampDate(p.updateTime) : new Date(),
  };
}

function reservationFacts(r: inventoryv1.Reservation): ReservationFacts {
  return {
    id: r.reservationId,
    orderId: r.orderId,
    // Unknown states count as committed: never released by the reconciler.
    state: RESERVATION_STATES[r.state] ?? 'committed',
    lines: r.lines.map(l => ({
      sku: l.sku,
      warehouseId: l.warehouseId,
      quantity: l.quantity,
    })),
    expiresAt: r.expireTime ? timestampDate(r.expireTime) : new Date(0),
    updatedAt: r.updateTime ? timestampDate(r.updateTime) : new Date(),
  };
}

export class GrpcReconcileSources implements ReconcileSources {
  constructor(
    private readonly payment: Client<typeof PaymentService>,
    private readonly inventory: Client<typeof InventoryService>,
  ) {}

  async payments(q: {updatedSince?: Date; orderIds?: readonly string[]}) {
    const out: PaymentFacts[] = [];
    let pageToken = '';
    do {
      const res = await callPeer('payment', () =>
        this.payment.scanPayments({
          updatedSince: q.updatedSince && timestampFromDate(q.updatedSince),
          orderIds: [...(q.orderIds ?? [])],
          pageSize: PAGE_SIZE,
          pageToken,
        }),
      );
      // Void tombstones carry no amount and belong to no order.
      out.push(...res.payments.filter(p => p.amount).map(paymentFacts));
      pageToken = res.nextPageToken;
    } while (pageToken);
    return out;
  }

  async reservations(q: {updatedSince?: Date; orderIds?: readonly string[]}) {
    const out: ReservationFacts[] = [];
    let pageToken = '';
    do {
      const res = await callPeer('inventory', () =>
        this.inventory.scanReservations({
          updatedSince: q.updatedSince && timestampFromDate(q.updatedSince),
          orderIds: [...(q.orderIds ?? [])],
          pageSize: PAGE_SIZE,
          pageToken,
        }),
      );
      out.push(...res.reservations.map(reservationFacts));
      pageToken = res.nextPageToken;
    } while (pageToken);
    return out;
  }

  async ledger() {
    const res = await callPeer('payment', () => this.payment.checkLedger({}));
    return {
      unbalanced: res.unbalanced.map(u => ({
        transactionId: u.ledgerTransactionId.toString(),
        paymentId: u.paymentId,
        orderId: u.orderId,
        kind: u.kind,
        sum: u.sum && moneyFromProto(u.sum, 'unbalanced.sum'),
        postingCount: u.postingCount,
      })),
      unbalancedCount: Number(res.unbalancedCount),
      totals: res.totals.map(t => moneyFromProto(t, 'totals')),
      transactionCount: Number(res.transactionCount),
      outboxLagSeconds: secondsOfDuration(res.outboxLag),
    };
  }

  async mirror(repair: boolean) {
    const res = await callPeer('inventory', () =>
      this.inventory.checkStockMirror({repair}),
    );
    return {
      mismatches: res.mismatches.map(m => ({
        sku: m.sku,
        warehouseId: m.warehouseId,
        cause: m.cause,
      })),
      levelsChecked: res.levelsChecked,
      outboxLagSeconds: secondsOfDuration(res.outboxLag),
    };
  }
}
