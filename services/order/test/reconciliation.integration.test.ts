/**
 * Continuous reconciliation through the real mesh: five service processes over real
 * gRPC, on the real PostgreSQL, Redis and RabbitMQ. Drift is injected behind the
 * services' backs (PostgreSQL, Redis, and a charge for an order Order never wrote), and
 * the reconciler, asked by RPC, must report each with its cause and repair the safe ones.
 */
import {randomUUID} from 'node:crypto';
import {
  ReservationState,
  StockAdjustmentReason,
} from '../../../gen/agora/inventory/v1/inventory_pb.js';
import {OrderState} from '../../../gen/agora/order/v1/order_pb.js';
import {
  DriftKind,
  RepairOutcome,
  type ReconciliationReport,
} from '../../../gen/agora/order/v1/reconciliation_pb.js';
import {PaymentState} from '../../../gen/agora/payment/v1/payment_pb.js';
import {startTestSystem} from '../../common/testing/test_system.js';

// The periodic pass is pushed out of the test's way (each pass here is asked for), and
// nothing waits to settle: the test changes nothing while a pass runs.
const sys = await startTestSystem('reconciliation', {
  AGORA_ORDER_RECONCILE_MS: '3600000',
  AGORA_ORDER_RECONCILE_SETTLE_MS: '0',
});
afterAll(() => sys.stop(), 60_000);

async function sellable(sku: string, units: number): Promise<void> {
  await sys.inventory.adjustStock({
    requestId: randomUUID(),
    sku,
    delta: units,
    reason: StockAdjustmentReason.RESTOCK,
  });
  await sys.pricing.setBasePrice({
    sku,
    price: {currencyCode: 'USD', amount: '4.00'},
  });
}

async function buy(sku: string, quantity: number, token = 'tok_visa') {
  const {order} = await sys.order.createOrder({
    requestId: randomUUID(),
    customerId: 'alice',
    currencyCode: 'USD',
    lines: [{sku, quantity}],
    paymentToken: token,
  });
  return order!;
}

async function reconcile(dryRun = false): Promise<ReconciliationReport> {
  const {report} = await sys.order.reconcile({dryRun}, {timeoutMs: 60_000});
  return report!;
}

function kinds(r: ReconciliationReport): string[] {
  return r.discrepancies.map(d => DriftKind[d.kind]);
}

beforeAll(async () => {
  await sellable('RECON-A', 50);
  await sellable('RECON-HELD', 50);
  await sellable('RECON-MIRROR', 50);
});

describe('Reconcile()', () => {
  it('reports zero drift after real orders, a decline, a refund and a cancellation', async () => {
    const paid = await buy('RECON-A', 2);
    const refunded = await buy('RECON-A', 1);
    const cancelled = await buy('RECON-A', 3);
    const declined = await buy('RECON-A', 1, 'tok_decline');
    expect(paid.state).toBe(OrderState.PAID);
    expect(declined.state).toBe(OrderState.FAILED);
    await sys.order.refundOrder({
      orderId: refunded.orderId,
      requestId: randomUUID(),
      amount: {currencyCode: 'USD', amount: '1.50'},
      reason: 'scratched',
    });
    await sys.order.cancelOrder({
      orderId: cancelled.orderId,
      reason: 'changed mind',
    });

    const report = await reconcile();

    expect(report.discrepancies).toEqual([]);
    expect(report.repairs).toEqual([]);
    expect(report.ordersChecked).toBeGreaterThanOrEqual(4);
    expect(report.paymentsChecked).toBeGreaterThanOrEqual(4);
    expect(report.reservationsChecked).toBeGreaterThanOrEqual(4);
    expect(report.stockLevelsChecked).toBeGreaterThanOrEqual(3);
    expect(report.ledgerTransactionsChecked).toBeGreaterThan(0n);
    expect(report.outboxLags.map(l => l.service).sort()).toEqual([
      'inventory',
      'order',
      'payment',
    ]);
  }, 60_000);

  it('reports each injected drift with its cause, repairs the safe ones, and a second pass finds only the unsafe one', async () => {
    // 1. A capture with no paid order: a charge for an order Order never wrote (a saga
    //    whose order row was lost after Payment captured).
    const orphanPaymentId = randomUUID();
    const ghostOrderId = randomUUID();
    await sys.payment.authorizePayment({
      paymentId: orphanPaymentId,
      orderId: ghostOrderId,
      amount: {currencyCode: 'USD', amount: '12.34'},
      paymentToken: 'tok_visa',
      capture: true,
    });

    // 2. A reservation left active for a failed order (its release lost), stock held.
    const failed = await buy('RECON-HELD', 2, 'tok_decline');
    expect(failed.state).toBe(OrderState.FAILED);
    const {rows: held} = await sys.db.query<{reservation_id: string}>(
      'select reservation_id from ordering.customer_order where order_id = $1',
      [failed.orderId],
    );
    const reservationId = held[0].reservation_id;
    await sys.db.query(
      `update inventory.reservation set state = 'active',
          expires_at = now() + interval '1 hour' where reservation_id = $1`,
      [reservationId],
    );
    await sys.db.query(
      `update inventory.stock_item set reserved = reserved + 2, version = version + 1
        where sku = 'RECON-HELD'`,
    );

    // 3. A Redis level changed behind Inventory's back (same version).
    await sys.redis.hset(
      `${sys.namespace}:stock:RECON-MIRROR`,
      'w:main:on_hand',
      '999',
    );

    // 4. A ledger posting removed (the balance trigger switched off for the deletion).
    const paid = await buy('RECON-A', 1);
    const client = await sys.db.connect();
    try {
      await client.query('begin');
      await client.query('set local session_replication_role = replica');
      await client.query(
        `delete from payment.ledger_posting where ledger_posting_id = (
           select lp.ledger_posting_id from payment.ledger_posting lp
             join payment.ledger_transaction t using (ledger_transaction_id)
            where t.order_id = $1 and t.kind = 'capture'
            order by lp.ledger_posting_id limit 1)`,
        [paid.orderId],
      );
      await client.query('commit');
    } finally {
      client.release();
    }

    // A dry run reports and repairs nothing.
    const dry = await reconcile(true);
    expect(dry.repairs).toEqual([]);
    expect(kinds(dry)).toContain('ORPHAN_CAPTURE');

    const first = await reconcile();
    const byKind = (kind: DriftKind) =>
      first.discrepancies.filter(d => d.kind === kind);

    const [orphan] = byKind(DriftKind.ORPHAN_CAPTURE);
    expect(orphan).toMatchObject({
      paymentId: orphanPaymentId,
      orderId: ghostOrderId,
      repairable: true,
    });
    expect(orphan.cause).toContain('captured 12.34');
    expect(orphan.cause).toContain(`order ${ghostOrderId} does not exist`);

    const [reservation] = byKind(DriftKind.ORPHAN_RESERVATION);
    expect(reservation).toMatchObject({
      reservationId,
      orderId: failed.orderId,
      repairable: true,
    });
    expect(reservation.cause).toContain('2 × RECON-HELD');
    expect(reservation.cause).toContain('is FAILED');

    const mirror = byKind(DriftKind.MIRROR_MISMATCH);
    const changed = mirror.find(d => d.sku === 'RECON-MIRROR');
    expect(changed?.cause).toContain('Redis has on_hand 999');
    expect(changed?.repairable).toBe(true);

    const ledger = byKind(DriftKind.LEDGER_IMBALANCE);
    expect(ledger.find(d => d.orderId === paid.orderId)?.cause).toMatch(
      /^ledger transaction \d+ \(capture of payment .+\) (sums to -?[0-9.]+, not zero|has 1 posting\(s\), fewer than two)$/,
    );
    expect(ledger.some(d => d.cause.startsWith('the whole ledger sums'))).toBe(
      true,
    );
    expect(ledger.every(d => !d.repairable)).toBe(true);

    // The repairs, made and recorded. The mirror is rebuilt for RECON-MIRROR, and for
    // RECON-HELD too: the injected hold changed its level in PostgreSQL only.
    const repaired = first.repairs.map(r => [
      r.action,
      r.target,
      RepairOutcome[r.outcome],
    ]);
    expect(
      repaired.filter(([action]) => action !== 'rebuild_mirror').sort(),
    ).toEqual(
      [
        ['refund', orphanPaymentId, 'REPAIRED'],
        ['release', reservationId, 'REPAIRED'],
      ].sort(),
    );
    expect(
      repaired.filter(([action]) => action === 'rebuild_mirror').sort(),
    ).toEqual([
      ['rebuild_mirror', 'RECON-HELD', 'REPAIRED'],
      ['rebuild_mirror', 'RECON-MIRROR', 'REPAIRED'],
    ]);
    const {payment} = await sys.payment.getPayment({
      paymentId: orphanPaymentId,
    });
    expect(payment?.state).toBe(PaymentState.REFUNDED);
    expect(payment?.refundedAmount?.amount).toMatch(/^12\.34/);
    const got = await sys.inventory.getReservation({reservationId});
    expect(got.reservation?.state).toBe(ReservationState.RELEASED);
    const {rows: pg} = await sys.db.query<{on_hand: number}>(
      "select on_hand from inventory.stock_item where sku = 'RECON-MIRROR'",
    );
    expect(
      await sys.redis.hget(
        `${sys.namespace}:stock:RECON-MIRROR`,
        'w:main:on_hand',
      ),
    ).toBe(String(pg[0].on_hand));
    const {rows: recorded} = await sys.db.query<{n: number}>(
      "select count(*)::int as n from ordering.reconcile_repair where outcome = 'repaired'",
    );
    expect(recorded[0].n).toBe(first.repairs.length);

    // The gauges and the counter on Order's /metrics.
    const metrics = await (
      await fetch(`http://${sys.mesh.processes.order.httpAddress}/metrics`, {
        headers: {authorization: sys.admin},
      })
    ).text();
    expect(metrics).toMatch(
      /agora_reconcile_drift\{[^}]*kind="orphan_capture"[^}]*\} 1/,
    );
    expect(metrics).toMatch(
      /agora_reconcile_repairs_total\{[^}]*kind="orphan_capture"[^}]*outcome="repaired"[^}]*\} 1/,
    );

    // The second pass: the repaired drift is gone; the ledger is still reported.
    const second = await reconcile();
    expect(
      second.discrepancies.filter(d => d.kind !== DriftKind.LEDGER_IMBALANCE),
    ).toEqual([]);
    expect(kinds(second)).toContain('LEDGER_IMBALANCE');
    expect(second.repairs).toEqual([]);
  }, 90_000);
});
