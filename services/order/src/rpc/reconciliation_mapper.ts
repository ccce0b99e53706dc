/**
 * Reconciliation report: domain → agora.order.v1.ReconciliationReport.
 */
import {create} from '@bufbuild/protobuf';
import {timestampFromDate} from '@bufbuild/protobuf/wkt';
import * as reconcilev1 from '../../../../gen/agora/order/v1/reconciliation_pb.js';
import {durationFromSeconds} from '../../../common/rpc/durations.js';
import type {ReconciliationReport} from '../app/reconcile.js';
import type {DriftKind} from '../domain/reconciliation.js';

const KINDS: Record<DriftKind, reconcilev1.DriftKind> = {
  orphan_capture: reconcilev1.DriftKind.ORPHAN_CAPTURE,
  paid_without_capture: reconcilev1.DriftKind.PAID_WITHOUT_CAPTURE,
  capture_mismatch: reconcilev1.DriftKind.CAPTURE_MISMATCH,
  units_mismatch: reconcilev1.DriftKind.UNITS_MISMATCH,
  orphan_reservation: reconcilev1.DriftKind.ORPHAN_RESERVATION,
  expired_reservation: reconcilev1.DriftKind.EXPIRED_RESERVATION,
  mirror_mismatch: reconcilev1.DriftKind.MIRROR_MISMATCH,
  ledger_imbalance: reconcilev1.DriftKind.LEDGER_IMBALANCE,
  outbox_lag: reconcilev1.DriftKind.OUTBOX_LAG,
};

export function reportToProto(
  r: ReconciliationReport,
): reconcilev1.ReconciliationReport {
  return create(reconcilev1.ReconciliationReportSchema, {
    startTime: timestampFromDate(r.startedAt),
    endTime: timestampFromDate(r.endedAt),
    discrepancies: r.discrepancies.map(d => ({
      kind: KINDS[d.kind],
      cause: d.cause,
      orderId: d.orderId ?? '',
      paymentId: d.paymentId ?? '',
      reservationId: d.reservationId ?? '',
      sku: d.sku ?? '',
      warehouseId: d.warehouseId ?? '',
      ledgerTransactionId: BigInt(d.ledgerTransactionId ?? 0),
      service: d.service ?? '',
      repairable: d.repair !== undefined,
    })),
    repairs: r.repairs.map(x => ({
      kind: KINDS[x.kind],
      action: x.action,
      target: x.target,
      outcome:
        x.outcome === 'repaired'
          ? reconcilev1.RepairOutcome.REPAIRED
          : reconcilev1.RepairOutcome.FAILED,
      detail: x.detail,
      repairTime: timestampFromDate(x.at),
    })),
    outboxLags: r.outboxLags.map(l => ({
      service: l.service,
      oldestUnpublishedAge: durationFromSeconds(l.seconds),
    })),
    ordersChecked: r.ordersChecked,
    paymentsChecked: r.paymentsChecked,
    reservationsChecked: r.reservationsChecked,
    stockLevelsChecked: r.stockLevelsChecked,
    ledgerTransactionsChecked: BigInt(r.ledgerTransactionsChecked),
  });
}
