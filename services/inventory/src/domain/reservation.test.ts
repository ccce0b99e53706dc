import {normalizeLines, Reservation} from './reservation.js';
import {
  alertTransition,
  checkAdjustedLevel,
  checkAdjustment,
  type StockLevel,
} from './stock_level.js';

const now = new Date('2026-11-26T10:00:00Z');
const later = (ms: number) => new Date(now.getTime() + ms);

function reservation(
  state: 'active' | 'committed' | 'released' | 'expired' = 'active',
  ttlMs = 60_000,
) {
  return new Reservation(
    'r-1',
    'o-1',
    state,
    [{sku: 'A', warehouseId: 'main', quantity: 2}],
    later(ttlMs),
    now,
    now,
    'fp',
  );
}

describe('Reservation', () => {
  describe('commit()', () => {
    it('commits an active reservation once; a repeat is a no-op', () => {
      const r = reservation();
      expect(r.commit(later(1000))).toBe(true);
      expect(r.state).toBe('committed');
      expect(r.commit(later(2000))).toBe(false);
    });

    it('rejects a lease that ran out, even before the sweeper expired it', () => {
      expect(() => reservation('active', 1000).commit(later(1000))).toThrow(
        'cannot become committed',
      );
    });

    it('rejects a released reservation', () => {
      expect(() => reservation('released').commit(now)).toThrow('is released');
    });
  });

  describe('release()', () => {
    it('releases once and treats released or expired as done', () => {
      const r = reservation();
      expect(r.release(now)).toBe(true);
      expect(r.release(now)).toBe(false);
      expect(reservation('expired').release(now)).toBe(false);
    });

    it('rejects releasing a committed reservation', () => {
      expect(() => reservation('committed').release(now)).toThrow(
        'is committed',
      );
    });
  });

  describe('expire()', () => {
    it('refuses to expire a lease that still runs', () => {
      expect(() => reservation('active', 60_000).expire(now)).toThrow();
    });
  });
});

describe('normalizeLines()', () => {
  it('fills the default warehouse and sorts by SKU so rows lock in one order', () => {
    expect(
      normalizeLines([
        {sku: 'B', quantity: 1},
        {sku: 'A', quantity: 2, warehouseId: 'east'},
      ]),
    ).toEqual([
      {sku: 'A', warehouseId: 'east', quantity: 2},
      {sku: 'B', warehouseId: 'main', quantity: 1},
    ]);
  });

  it('rejects a SKU listed twice, naming the line', () => {
    expect(() =>
      normalizeLines([
        {sku: 'A', quantity: 1},
        {sku: 'A', quantity: 1},
      ]),
    ).toThrow('lines[1].sku');
  });
});

describe('stock rules', () => {
  const level = (
    onHand: number,
    reserved: number,
    threshold = 0,
  ): StockLevel => ({
    sku: 'A',
    warehouseId: 'main',
    onHand,
    reserved,
    lowStockThreshold: threshold,
    version: 1,
    updatedAt: now,
  });

  it('never lets on hand fall below what is reserved', () => {
    expect(() => checkAdjustedLevel(level(10, 8), -3)).toThrow('reserved');
    expect(() => checkAdjustedLevel(level(10, 0), -11)).toThrow(
      'cannot remove 11',
    );
    expect(() => checkAdjustedLevel(level(10, 8), -2)).not.toThrow();
  });

  it('checks the sign of an adjustment against its reason', () => {
    expect(() => checkAdjustment(-1, 'restock')).toThrow('delta');
    expect(() => checkAdjustment(1, 'damage')).toThrow('delta');
    expect(() => checkAdjustment(-1, 'correction')).not.toThrow();
  });

  it('raises an alert when available crosses the threshold and clears it when it recovers', () => {
    expect(alertTransition(false, level(10, 6, 5))).toBe('raise');
    expect(alertTransition(true, level(20, 6, 5))).toBe('clear');
    expect(alertTransition(true, level(10, 6, 5))).toBe('none');
    expect(alertTransition(false, level(0, 0, 0))).toBe('none'); // threshold 0 disables alerts
  });
});
