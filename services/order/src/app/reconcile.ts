/**
 * Reconcile: one pass of continuous reconciliation. Gathers the facts from their owners
 * (Order's orders, Payment's payments and ledger, Inventory's reservations and mirror),
 * compares them (domain/reconciliation.ts), repairs the safe discrepancies and records
 * every repair. One pass runs at a time across replicas (a lease row).
 *
 * Payments and reservations are read before orders: Order writes an order before it
 * reserves or charges, so every payment or reservation seen has its order visible by the
 * time orders are read, and "no such order" is never a race.
 */
import {ConcurrentRequestError} from '../../../common/errors/domain_error.js';
import {derivedId} from '../../../common/idempotency/derived_id.js';
import {
  compareOrders,
  ledgerDiscrepancies,
  mirrorDiscrepancies,
  outboxDiscrepancies,
  type Discrepancy,
  type OrderFacts,
  type PaymentFacts,
  type ReservationFacts,
} from '../domain/reconciliation.js';
import type {
  Clock,
  InventoryGateway,
  PaymentGateway,
  ReconcileSources,
  ReconcileStore,
  RepairRecord,
} from './ports.js';

export interface ReconcilePolicy {
  /** How far back a pass looks for changed orders, payments and reservations. */
  windowMs: number;
  /** Changes younger than this wait for the next pass (see OrderComparison). */
  settleMs: number;
  /** How long past expiry an active reservation may wait for Inventory's sweeper. */
  expiryGraceMs: number;
  /** Outbox lag beyond which a service is reported. */
  outboxLagLimitS: number;
  /** How long the pass lease lasts; a pass that takes longer may overlap the next. */
  leaseMs: number;
  /** How long an on-demand pass waits for one another replica is running. */
  waitMs: number;
}

export const DEFAULT_RECONCILE_POLICY: ReconcilePolicy = {
  windowMs: 7 * 86_400_000,
  settleMs: 30_000,
  expiryGraceMs: 60_000,
  outboxLagLimitS: 60,
  leaseMs: 5 * 60_000,
  waitMs: 30_000,
};

export interface ReconciliationReport {
  startedAt: Date;
  endedAt: Date;
  discrepancies: Discrepancy[];
  repairs: RepairRecord[];
  outboxLags: Array<{service: string; seconds: number}>;
  ordersChecked: number;
  paymentsChecked: number;
  reservationsChecked: number;
  stockLevelsChecked: number;
  ledgerTransactionsChecked: number;
}

export class Reconcile {
  constructor(
    private readonly store: ReconcileStore,
    private readonly sources: ReconcileSources,
    private readonly payment: PaymentGateway,
    private readonly inventory: InventoryGateway,
    private readonly clock: Clock,
    /** This process, as the holder of the pass lease. */
    private readonly holder: string,
    private readonly policy: ReconcilePolicy = DEFAULT_RECONCILE_POLICY,
    /** Told every finished pass (metrics). */
    private readonly onReport: (r: ReconciliationReport) => void = () => {},
  ) {}

  /**
   * The periodic pass: runs unless another replica's pass holds the lease (then
   * undefined: that pass covers this minute).
   */
  async periodic(): Promise<ReconciliationReport | undefined> {
    if (!(await this.store.tryLease(this.holder, this.policy.leaseMs)))
      return undefined;
    return this.runHoldingLease(false);
  }

  /**
   * The on-demand pass (RPC, command): waits for a running pass to end, then runs;
   * ABORTED when the lease is still held after `waitMs`.
   */
  async onDemand(dryRun: boolean): Promise<ReconciliationReport> {
    const deadline = this.clock.now().getTime() + this.policy.waitMs;
    while (!(await this.store.tryLease(this.holder, this.policy.leaseMs))) {
      if (this.clock.now().getTime() > deadline) {
        throw new ConcurrentRequestError(
          'a reconciliation pass is still running on another replica; retry later',
        );
      }
      await new Promise(r => setTimeout(r, 250));
    }
    return this.runHoldingLease(dryRun);
  }

  private async runHoldingLease(
    dryRun: boolean,
  ): Promise<ReconciliationReport> {
    try {
      const report = await this.pass(dryRun);
      this.onReport(report);
      return report;
    } finally {
      await this.store.releaseLease(this.holder);
    }
  }

  private async pass(dryRun: boolean): Promise<ReconciliationReport> {
    const startedAt = this.clock.now();
    const since = new Date(startedAt.getTime() - this.policy.windowMs);
    const [payments, reservations] = await Promise.all([
      this.sources.payments({updatedSince: since}),
      this.sources.reservations({updatedSince: since}),
    ]);
    const orders = await this.ordersOf(since, payments, reservations);
    // The sales of orders changed in the window whose payments or reservations did not.
    const quiet = (seen: ReadonlyArray<{orderId: string}>) => {
      const ids = new Set(seen.map(s => s.orderId));
      return orders.map(o => o.id).filter(id => !ids.has(id));
    };
    const [olderPayments, olderReservations] = await Promise.all([
      this.inBatches(quiet(payments), ids =>
        this.sources.payments({orderIds: ids}),
      ),
      this.inBatches(quiet(reservations), ids =>
        this.sources.reservations({orderIds: ids}),
      ),
    ]);
    const [ledger, mirror, orderLag] = await Promise.all([
      this.sources.ledger(),
      this.sources.mirror(false),
      this.store.outboxLagSeconds(),
    ]);
    const outboxLags = [
      {service: 'order', seconds: orderLag},
      {service: 'payment', seconds: ledger.outboxLagSeconds},
      {service: 'inventory', seconds: mirror.outboxLagSeconds},
    ];
    const allPayments = latest([...payments, ...olderPayments]);
    const allReservations = latest([...reservations, ...olderReservations]);
    const discrepancies = [
      ...compareOrders({
        orders,
        payments: allPayments,
        reservations: allReservations,
        now: startedAt,
        settleMs: this.policy.settleMs,
        expiryGraceMs: this.policy.expiryGraceMs,
      }),
      ...mirrorDiscrepancies(mirror.mismatches),
      ...ledgerDiscrepancies(ledger),
      ...outboxDiscrepancies(outboxLags, this.policy.outboxLagLimitS),
    ];
    const repairs = dryRun ? [] : await this.repair(discrepancies);
    return {
      startedAt,
      endedAt: this.clock.now(),
      discrepancies,
      repairs,
      outboxLags,
      ordersChecked: orders.length,
      paymentsChecked: allPayments.length,
      reservationsChecked: allReservations.length,
      stockLevelsChecked: mirror.levelsChecked,
      ledgerTransactionsChecked: ledger.transactionCount,
    };
  }

  /** Orders changed in the window, and those of payments or reservations that were. */
  private async ordersOf(
    since: Date,
    payments: readonly PaymentFacts[],
    reservations: readonly ReservationFacts[],
  ): Promise<OrderFacts[]> {
    const recent = await this.store.ordersUpdatedSince(since);
    const known = new Set(recent.map(o => o.id));
    const missing = [
      ...new Set(
        [...payments, ...reservations]
          .map(x => x.orderId)
          .filter(id => id && !known.has(id)),
      ),
    ];
    const older = await this.inBatches(missing, ids =>
      this.store.ordersByIds(ids),
    );
    return [...recent, ...older];
  }

  private async inBatches<T>(
    ids: readonly string[],
    load: (ids: string[]) => Promise<T[]>,
  ): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < ids.length; i += 100)
      out.push(...(await load(ids.slice(i, i + 100))));
    return out;
  }

  /**
   * Carries out each discrepancy's repair and records it. A failed repair is recorded
   * and left for the next pass; it never stops the others.
   */
  private async repair(found: readonly Discrepancy[]): Promise<RepairRecord[]> {
    const records: RepairRecord[] = [];
    let mirrorRebuilt = false;
    for (const d of found) {
      const r = d.repair;
      if (!r) continue;
      let target = '';
      let detail = '';
      try {
        switch (r.action) {
          case 'refund':
            target = r.paymentId;
            detail = r.amount.toString();
            // Derived from the payment and the amount: a retried repair of the same
            // capture refunds once; the namespace is the reconciler's own.
            await this.payment.refund(
              r.paymentId,
              derivedId('reconciler-refund', r.paymentId, r.amount.toString()),
              r.amount,
              `reconciliation: ${d.cause}`.slice(0, 500),
            );
            break;
          case 'void':
            target = r.paymentId;
            await this.payment.void(r.paymentId);
            break;
          case 'release':
            target = r.reservationId;
            await this.inventory.release(r.reservationId);
            break;
          case 'rebuild_mirror':
            target = r.sku;
            // One rewrite covers every mismatched SKU.
            if (!mirrorRebuilt) {
              const after = await this.sources.mirror(true);
              detail = `${after.mismatches.length} level(s) rewritten`;
              mirrorRebuilt = true;
            } else {
              detail = 'rewritten with the first';
            }
            break;
        }
        records.push(this.record(d, r.action, target, 'repaired', detail));
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        records.push(this.record(d, r.action, target, 'failed', why));
      }
    }
    for (const rec of records) await this.store.recordRepair(rec);
    return records;
  }

  private record(
    d: Discrepancy,
    action: RepairRecord['action'],
    target: string,
    outcome: RepairRecord['outcome'],
    detail: string,
  ): RepairRecord {
    return {
      kind: d.kind,
      action,
      target,
      outcome,
      detail,
      at: this.clock.now(),
    };
  }
}

/** One copy per id, the most recently updated (a scan may return a row twice). */
function latest<T extends {id: string; updatedAt: Date}>(rows: T[]): T[] {
  const byId = new Map<string, T>();
  for (const r of rows) {
    const seen = byId.get(r.id);
    if (!seen || seen.updatedAt <= r.updatedAt) byId.set(r.id, r);
  }
  return [...byId.values()];
}
