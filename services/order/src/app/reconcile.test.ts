import {jest} from '@jest/globals';
import {Money} from '../../../common/money/money.js';
import type {OrderFacts, PaymentFacts} from '../domain/reconciliation.js';
import {FakeInventory, FakePayment} from './in_memory_fakes.js';
import type {ReconcileSources, ReconcileStore, RepairRecord} from './ports.js';
import {
  DEFAULT_RECONCILE_POLICY,
  Reconcile,
  type ReconciliationReport,
} from './reconcile.js';

const usd = (a: string) => Money.parse(a, 'USD');
const earlier = new Date('2026-12-03T11:00:00Z');

class FakeReconcileStore implements ReconcileStore {
  orders: OrderFacts[] = [];
  leaseHolder: string | undefined;
  readonly repairs: RepairRecord[] = [];
  async ordersUpdatedSince(): Promise<OrderFacts[]> {
    return this.orders;
  }
  async ordersByIds(ids: readonly string[]): Promise<OrderFacts[]> {
    return this.orders.filter(o => ids.includes(o.id));
  }
  async tryLease(holder: string): Promise<boolean> {
    if (this.leaseHolder !== undefined) return false;
    this.leaseHolder = holder;
    return true;
  }
  async releaseLease(holder: string): Promise<void> {
    if (this.leaseHolder === holder) this.leaseHolder = undefined;
  }
  async recordRepair(r: RepairRecord): Promise<void> {
    this.repairs.push(r);
  }
  async outboxLagSeconds(): Promise<number> {
    return 0;
  }
}

function orphan(id: string, orderId: string): PaymentFacts {
  return {
    id,
    orderId,
    state: 'captured',
    amount: usd('10.00'),
    captured: usd('10.00'),
    refunded: usd('0'),
    updatedAt: earlier,
  };
}

function world() {
  let now = Date.parse('2026-12-03T12:00:00Z');
  const clock = {now: () => new Date(now)};
  const store = new FakeReconcileStore();
  const payments: PaymentFacts[] = [];
  const mirrorRepairs: boolean[] = [];
  const sources: ReconcileSources = {
    payments: async q =>
      payments.filter(p => !q.orderIds || q.orderIds.includes(p.orderId)),
    reservations: async () => [],
    ledger: async () => ({
      unbalanced: [],
      unbalancedCount: 0,
      totals: [],
      transactionCount: 0,
      outboxLagSeconds: 0,
    }),
    mirror: async repair => {
      mirrorRepairs.push(repair);
      return {mismatches: [], levelsChecked: 0, outboxLagSeconds: 0};
    },
  };
  const payment = new FakePayment();
  const inventory = new FakeInventory();
  const reports: ReconciliationReport[] = [];
  const reconcile = new Reconcile(
    store,
    sources,
    payment,
    inventory,
    clock,
    'order-1',
    {...DEFAULT_RECONCILE_POLICY, waitMs: 1_000},
    r => reports.push(r),
  );
  return {
    store,
    payments,
    payment,
    reconcile,
    reports,
    mirrorRepairs,
    advance: (ms: number) => (now += ms),
  };
}

describe('Reconcile', () => {
  it('refunds an orphan capture, records the repair and releases the lease', async () => {
    const w = world();
    w.payments.push(orphan('p-1', 'ghost'));
    const refund = jest.spyOn(w.payment, 'refund').mockResolvedValue();

    const report = await w.reconcile.onDemand(false);

    expect(report.discrepancies.map(d => d.kind)).toEqual(['orphan_capture']);
    expect(refund).toHaveBeenCalledWith(
      'p-1',
      expect.any(String),
      usd('10.00'),
      expect.stringContaining('order ghost does not exist'),
    );
    expect(w.store.repairs).toMatchObject([
      {
        kind: 'orphan_capture',
        action: 'refund',
        target: 'p-1',
        outcome: 'repaired',
        detail: '10.00',
      },
    ]);
    expect(w.reports).toEqual([report]);
    expect(w.store.leaseHolder).toBeUndefined();
  });

  it('retries a repair with the same refund id, so a capture is never refunded twice', async () => {
    const w = world();
    w.payments.push(orphan('p-1', 'ghost'));
    const refund = jest.spyOn(w.payment, 'refund').mockResolvedValue();
    await w.reconcile.onDemand(false);
    await w.reconcile.onDemand(false);
    expect(refund.mock.calls[0][1]).toBe(refund.mock.calls[1][1]);
  });

  it('records a failed repair and still makes the others', async () => {
    const w = world();
    w.payments.push(orphan('p-1', 'ghost-1'), orphan('p-2', 'ghost-2'));
    jest
      .spyOn(w.payment, 'refund')
      .mockRejectedValueOnce(new Error('payment unavailable'))
      .mockResolvedValueOnce();

    const report = await w.reconcile.onDemand(false);

    expect(report.repairs.map(r => [r.target, r.outcome, r.detail])).toEqual([
      ['p-1', 'failed', 'payment unavailable'],
      ['p-2', 'repaired', '10.00'],
    ]);
    expect(w.store.repairs).toHaveLength(2);
  });

  it('repairs nothing on a dry run', async () => {
    const w = world();
    w.payments.push(orphan('p-1', 'ghost'));
    const refund = jest.spyOn(w.payment, 'refund');
    const report = await w.reconcile.onDemand(true);
    expect(report.discrepancies).toHaveLength(1);
    expect(report.repairs).toEqual([]);
    expect(refund).not.toHaveBeenCalled();
    expect(w.store.repairs).toEqual([]);
  });

  it('skips the periodic pass while another replica holds the lease', async () => {
    const w = world();
    w.store.leaseHolder = 'order-2';
    expect(await w.reconcile.periodic()).toBeUndefined();
    expect(w.reports).toEqual([]);
  });

  it('answers ABORTED to an on-demand pass when the lease stays held past the wait', async () => {
    const w = world();
    w.store.leaseHolder = 'order-2';
    const tryLease = jest.spyOn(w.store, 'tryLease');
    tryLease.mockImplementation(async () => {
      w.advance(600); // each attempt, time passes
      return false;
    });
    await expect(w.reconcile.onDemand(false)).rejects.toMatchObject({
      kind: 'aborted',
    });
    expect(w.reports).toEqual([]);
  });

  it('looks up the payments of orders changed in the window whose payments did not change', async () => {
    const w = world();
    w.store.orders = [
      {
        id: 'o-1',
        state: 'paid',
        total: usd('10.00'),
        refunded: usd('0'),
        lines: [],
        reservationId: 'r-1',
        pendingUndo: [],
        updatedAt: earlier,
      },
    ];
    const scans: Array<{orderIds?: readonly string[]}> = [];
    const reconcile = new Reconcile(
      w.store,
      {
        payments: async q => {
          scans.push(q);
          return [];
        },
        reservations: async () => [],
        ledger: async () => ({
          unbalanced: [],
          unbalancedCount: 0,
          totals: [],
          transactionCount: 0,
          outboxLagSeconds: 0,
        }),
        mirror: async () => ({
          mismatches: [],
          levelsChecked: 0,
          outboxLagSeconds: 0,
        }),
      },
      w.payment,
      new FakeInventory(),
      {now: () => new Date('2026-12-03T12:00:00Z')},
      'order-1',
    );
    const report = await reconcile.onDemand(true);
    expect(scans.map(s => s.orderIds)).toEqual([undefined, ['o-1']]);
    expect(report.discrepancies.map(d => d.kind)).toEqual([
      'paid_without_capture',
      'units_mismatch',
    ]);
  });
});
