/**
 * PaymentService handlers: request → command, one use case, result → response.
 *
 * Requests are never logged here: AuthorizePaymentRequest carries the payment token.
 */
import {create} from '@bufbuild/protobuf';
import {timestampDate} from '@bufbuild/protobuf/wkt';
import type {ServiceImpl} from '@connectrpc/connect';
import {
  UnbalancedLedgerTransactionSchema,
  type PaymentService,
} from '../../../../gen/agora/payment/v1/payment_service_pb.js';
import {durationFromSeconds} from '../../../common/rpc/durations.js';
import {moneyToProto} from '../../../common/money/money_proto.js';
import type {AuthorizePayment} from '../app/authorize_payment.js';
import type {CapturePayment} from '../app/capture_payment.js';
import type {ReadPayments} from '../app/read_payments.js';
import type {RefundPayment} from '../app/refund_payment.js';
import type {VoidPayment} from '../app/void_payment.js';
import {
  chargeableFromProto,
  ledgerBalancesToProto,
  optionalChargeableFromProto,
  paymentToProto,
  refundToProto,
} from './mapper.js';

export interface PaymentUseCases {
  authorize: AuthorizePayment;
  capture: CapturePayment;
  void: VoidPayment;
  refund: RefundPayment;
  read: ReadPayments;
}

export function createPaymentService(
  uc: PaymentUseCases,
): ServiceImpl<typeof PaymentService> {
  return {
    async authorizePayment(req, ctx) {
      const payment = await uc.authorize.execute({
        paymentId: req.paymentId,
        orderId: req.orderId,
        amount: chargeableFromProto(req.amount, 'amount'),
        paymentToken: req.paymentToken,
        capture: req.capture,
        callerGone: () => ctx.signal.aborted,
      });
      return {payment: paymentToProto(payment)};
    },

    async capturePayment(req) {
      const payment = await uc.capture.execute({
        paymentId: req.paymentId,
        amount: optionalChargeableFromProto(req.amount, 'amount'),
      });
      return {payment: paymentToProto(payment)};
    },

    async voidPayment(req) {
      return {payment: paymentToProto(await uc.void.execute(req.paymentId))};
    },

    async refundPayment(req) {
      const {payment, refund} = await uc.refund.execute({
        paymentId: req.paymentId,
        refundId: req.refundId,
        amount: optionalChargeableFromProto(req.amount, 'amount'),
        reason: req.reason,
      });
      return {payment: paymentToProto(payment), refund: refundToProto(refund)};
    },

    async getPayment(req) {
      return {payment: paymentToProto(await uc.read.payment(req.paymentId))};
    },

    async listPayments(req) {
      const payments = await uc.read.ofOrder(req.orderId);
      return {payments: payments.map(p => paymentToProto(p))};
    },

    async getLedgerBalances(req) {
      const ledger = await uc.read.ledger({
        orderId: req.orderId,
        currencyCode: req.currencyCode,
      });
      return {
        balances: ledgerBalancesToProto(ledger),
        transactionCount: BigInt(ledger.transactionCount),
      };
    },

    async scanPayments(req) {
      const page = await uc.read.scan({
        updatedSince: req.updatedSince && timestampDate(req.updatedSince),
        orderIds: req.orderIds,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return {
        payments: page.payments.map(p => paymentToProto(p)),
        nextPageToken: page.next,
      };
    },

    async checkLedger() {
      const check = await uc.read.checkLedger();
      return {
        unbalanced: check.unbalanced.map(u =>
          create(UnbalancedLedgerTransactionSchema, {
            ledgerTransactionId: BigInt(u.transactionId),
            paymentId: u.paymentId,
            orderId: u.orderId,
            kind: u.kind,
            sum: u.sum && moneyToProto(u.sum),
            postingCount: u.postingCount,
          }),
        ),
        unbalancedCount: BigInt(check.unbalancedCount),
        totals: check.totals.map(moneyToProto),
        transactionCount: BigInt(check.transactionCount),
        outboxLag: durationFromSeconds(check.outboxLagSeconds),
      };
    },
  };
}
