/**
 * `npm run reconcile [-- --dry-run] [--json]`: runs one reconciliation pass on the Order
 * service now (OrderService/Reconcile, as an admin of the development issuer, like
 * `npm run token`) and prints its report: every discrepancy with its kind and cause, the
 * repairs made, and each service's outbox lag. Exit status 0 when the pass found no
 * drift, 3 when it found some (repaired or not: the report says which), 1 on error.
 * AGORA_ORDER_ADDR / AGORA_ORDER_PORT say where Order listens (default 127.0.0.1:50051).
 */
import {parseArgs} from 'node:util';
import {toJson} from '@bufbuild/protobuf';
import {timestampDate} from '@bufbuild/protobuf/wkt';
import {OrderService} from '../../gen/agora/order/v1/order_service_pb.js';
import {
  DriftKind,
  RepairOutcome,
  ReconciliationReportSchema,
  type ReconciliationReport,
} from '../../gen/agora/order/v1/reconciliation_pb.js';
import {EnvReader} from '../../services/common/config/env.js';
import {peerAddress} from '../../services/common/config/service_config.js';
import {localDevIssuer} from '../../services/common/process/service_process.js';
import {createGrpcClient} from '../../services/common/rpc/grpc_client.js';
import {secondsOfDuration} from '../../services/common/rpc/durations.js';

function print(r: ReconciliationReport): void {
  const start = r.startTime ? timestampDate(r.startTime) : new Date();
  const end = r.endTime ? timestampDate(r.endTime) : start;
  console.log(
    `reconciliation ${start.toISOString()} (${end.getTime() - start.getTime()} ms): ` +
      `${r.ordersChecked} orders, ${r.paymentsChecked} payments, ` +
      `${r.reservationsChecked} reservations, ${r.stockLevelsChecked} stock levels, ` +
      `${r.ledgerTransactionsChecked} ledger transactions checked`,
  );
  console.log(
    `outbox lag: ${r.outboxLags.map(l => `${l.service} ${secondsOfDuration(l.oldestUnpublishedAge).toFixed(1)} s`).join(', ')}`,
  );
  if (r.discrepancies.length === 0) {
    console.log('no drift');
    return;
  }
  console.log(`${r.discrepancies.length} discrepancies:`);
  for (const d of r.discrepancies) {
    const kind = DriftKind[d.kind].toLowerCase();
    console.log(
      `  ${kind.padEnd(21)} ${d.repairable ? 'repairable' : 'report only'}  ${d.cause}`,
    );
  }
  if (r.repairs.length > 0) {
    console.log(`${r.repairs.length} repairs:`);
    for (const x of r.repairs) {
      console.log(
        `  ${x.action.padEnd(15)} ${x.target.padEnd(36)} ${RepairOutcome[x.outcome].toLowerCase()}${x.detail ? `  ${x.detail}` : ''}`,
      );
    }
  }
}

async function main(): Promise<number> {
  const {values} = parseArgs({
    options: {
      'dry-run': {type: 'boolean', default: false},
      json: {type: 'boolean', default: false},
    },
  });
  const issuer = await localDevIssuer();
  const admin = await issuer.bearer({subject: 'admin', roles: ['admin']});
  const order = createGrpcClient(
    OrderService,
    peerAddress('order', new EnvReader()),
    {
      authorization: () => admin,
      defaultTimeoutMs: 120_000,
    },
  );
  try {
    const {report} = await order.reconcile({dryRun: values['dry-run']});
    if (!report) throw new Error('Order answered without a report');
    if (values.json) {
      console.log(
        JSON.stringify(toJson(ReconciliationReportSchema, report), null, 2),
      );
    } else {
      print(report);
    }
    return report.discrepancies.length === 0 ? 0 : 3;
  } finally {
    order.close();
  }
}

main().then(
  code => process.exit(code),
  err => {
    console.error(
      `reconcile: ${err instanceof Error ? err.message : String(err)}`,
    );
    process.exit(1);
  },
);
