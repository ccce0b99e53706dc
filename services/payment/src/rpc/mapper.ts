/**
 * Proto <-> domain for Payment's API. The only place that knows both shapes; the payment
 * events (events/payment_events.ts) carry a payment in this shape.
 */
import {create} from '@bufbuild/protobuf';
import {timestampFromDate} from '@bufbuild/protobuf/wkt';
import * as paymentv1 from '../../../../gen/agora/payment/v1/payment_pb.js';
import type {Money as MoneyMessage} from '../../../../gen/agora/type/v1/money_pb.js';
import type {Money} from '../../../common/money/money.js';
import {
  moneyFromProto,
  moneyToProto,
} from '../../../common/money/money_proto.js';
import type {LedgerBalances} from '../app/ports.js';
import type {LedgerAccount} from '../domain/ledger.js';
import {
  VoidTombstone,
  type PaymentRecord,
  type PaymentState,
  type Refund,
} from '../domain/payment.js';

const STATES: Record<PaymentState, paymentv1.PaymentState> = {
  pending: paymentv1.PaymentState.PENDING,
  authorized: paymentv1.PaymentState.AUTHORIZED,
  declined: paymentv1.PaymentState.DECLINED,
  captured: paymentv1.PaymentState.CAPTURED,
  voided: paymentv1.PaymentState.VOIDED,
  partially_refunded: paymentv1.PaymentState.PARTIALLY_REFUNDED,
  refunded: paymentv1.PaymentState.REFUNDED,
};

/**
 * A chargeable amount from a request: an ISO 4217 currency, more than zero and no finer
 * than the minor unit ("10.001" USD is refused). Errors name `field`.
 */
export function chargeableFromProto(
  message: MoneyMessage | undefined,
  field: string,
): Money {
  return moneyFromProto(message, field).assertChargeable(field);
}

/** Like chargeableFromProto, for fields where unset has a meaning of its own. */
export function optionalChargeableFromProto(
  message: MoneyMessage | undefined,
  field: string,
): Money | undefined {
  return message ? chargeableFromProto(message, field) : undefined;
}

export function refundToProto(r: Refund): paymentv1.Refund {
  return create(paymentv1.RefundSchema, {
    refundId: r.refundId,
    amount: moneyToProto(r.amount),
    reason: r.reason,
    createTime: timestampFromDate(r.createdAt),
  });
}

const ACCOUNTS: Record<LedgerAccount, paymentv1.LedgerAccount> = {
  customer_funds: paymentv1.LedgerAccount.CUSTOMER_FUNDS,
  authorized_holds: paymentv1.LedgerAccount.AUTHORIZED_HOLDS,
  merchant_revenue: paymentv1.LedgerAccount.MERCHANT_REVENUE,
};

/**
 * A payment, or a tombstone as a VOIDED payment with only its id and times (no order,
 * no amount: nothing was ever asked of it).
 */
export function paymentToProto(p: PaymentRecord): paymentv1.Payment {
  if (p instanceof VoidTombstone) {
    return create(paymentv1.PaymentSchema, {
      paymentId: p.id,
      state: paymentv1.PaymentState.VOIDED,
      createTime: timestampFromDate(p.createdAt),
      updateTime: timestampFromDate(p.createdAt),
    });
  }
  return create(paymentv1.PaymentSchema, {
    paymentId: p.id,
    orderId: p.orderId,
    state: STATES[p.state],
    amount: moneyToProto(p.amount),
    capturedAmount: moneyToProto(p.capturedAmount),
    refundedAmount: moneyToProto(p.refundedAmount),
    declineCode: p.declineCode,
    provider: p.provider,
    providerReference: p.providerReference,
    refunds: p.refunds.map(refundToProto),
    createTime: timestampFromDate(p.createdAt),
    updateTime: timestampFromDate(p.updatedAt),
  });
}

export function ledgerBalancesToProto(
  b: LedgerBalances,
): paymentv1.LedgerBalance[] {
  return b.balances.map(({account, balance}) =>
    create(paymentv1.LedgerBalanceSchema, {
      account: ACCOUNTS[account],
      balance: moneyToProto(balance),
    }),
  );
}
