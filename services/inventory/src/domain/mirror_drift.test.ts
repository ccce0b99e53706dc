import {mirrorDrift, type MirroredSku} from './mirror_drift.js';
import type {StockLevel} from './stock_level.js';

const at = new Date('2026-12-03T12:00:00Z');

function level(p: Partial<StockLevel>): StockLevel {
  return {
    sku: 'A',
    warehouseId: 'main',
    onHand: 10,
    reserved: 2,
    lowStockThreshold: 0,
    version: 5,
    updatedAt: at,
    ...p,
  };
}

function mirrored(
  levels: Array<[string, {onHand: number; reserved: number; version: number}]>,
  totals = {onHand: 10, reserved: 2, available: 8},
): MirroredSku {
  return {totals, levels: new Map(levels)};
}

describe('mirrorDrift()', () => {
  it('finds nothing when Redis holds every level at its version', () => {
    expect(
      mirrorDrift(
        [level({})],
        new Map([
          ['A', mirrored([['main', {onHand: 10, reserved: 2, version: 5}]])],
        ]),
      ),
    ).toEqual([]);
  });

  it('reports a level changed in Redis behind Inventory’s back, at the same version', () => {
    const found = mirrorDrift(
      [level({})],
      new Map([
        ['A', mirrored([['main', {onHand: 999, reserved: 2, version: 5}]])],
      ]),
    );
    expect(found).toEqual([
      {
        sku: 'A',
        warehouseId: 'main',
        cause:
          'at version 5 PostgreSQL has on_hand 10, reserved 2; Redis has on_hand 999, reserved 2',
      },
    ]);
  });

  it('reports a missing key and a stale version', () => {
    const found = mirrorDrift(
      [level({}), level({sku: 'B'})],
      new Map([
        ['A', mirrored([['main', {onHand: 9, reserved: 2, version: 4}]])],
        ['B', {totals: undefined, levels: new Map()}],
      ]),
    );
    expect(found.map(f => [f.sku, f.cause])).toEqual([
      ['A', 'stale in Redis: version 4, PostgreSQL has 5'],
      ['B', 'missing from Redis (version 5)'],
    ]);
  });

  it('ignores a level Redis holds at a newer version (written after PostgreSQL was read)', () => {
    expect(
      mirrorDrift(
        [level({})],
        new Map([
          [
            'A',
            mirrored([['main', {onHand: 8, reserved: 0, version: 6}]], {
              onHand: 8,
              reserved: 0,
              available: 8,
            }),
          ],
        ]),
      ),
    ).toEqual([]);
  });

  it('reports totals that do not sum the levels', () => {
    const found = mirrorDrift(
      [level({})],
      new Map([
        [
          'A',
          mirrored([['main', {onHand: 10, reserved: 2, version: 5}]], {
            onHand: 10,
            reserved: 2,
            available: 100,
          }),
        ],
      ]),
    );
    expect(found.map(f => [f.sku, f.warehouseId])).toEqual([['A', '']]);
  });
});
