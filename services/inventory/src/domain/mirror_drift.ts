/**
 * Where the Redis mirror of stock disagrees with PostgreSQL. Pure: the caller reads both
 * sides. PostgreSQL is read first, so a level Redis holds at a newer version was changed
 * after that read (a live write) and is not drift.
 */
import type {StockLevel} from './stock_level.js';

/** One warehouse's level as the mirror holds it. */
export interface MirroredLevel {
  onHand: number;
  reserved: number;
  version: number;
}

/** A SKU's hash in the mirror: its totals and its levels by warehouse. */
export interface MirroredSku {
  totals: {onHand: number; reserved: number; available: number} | undefined;
  levels: ReadonlyMap<string, MirroredLevel>;
}

export interface MirrorMismatch {
  sku: string;
  /** Empty when only the SKU's totals disagree. */
  warehouseId: string;
  cause: string;
}

/** Every level (and SKU total) of `levels` the mirror does not reflect. */
export function mirrorDrift(
  levels: readonly StockLevel[],
  mirror: ReadonlyMap<string, MirroredSku>,
): MirrorMismatch[] {
  const bySku = new Map<string, StockLevel[]>();
  for (const l of levels) bySku.set(l.sku, [...(bySku.get(l.sku) ?? []), l]);
  const found: MirrorMismatch[] = [];
  for (const [sku, own] of [...bySku].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const m = mirror.get(sku);
    let newer = false;
    for (const l of own) {
      const r = m?.levels.get(l.warehouseId);
      const at = {sku, warehouseId: l.warehouseId};
      if (!r) {
        found.push({...at, cause: `missing from Redis (version ${l.version})`});
      } else if (r.version > l.version) {
        newer = true; // written after PostgreSQL was read
      } else if (r.version < l.version) {
        found.push({
          ...at,
          cause: `stale in Redis: version ${r.version}, PostgreSQL has ${l.version}`,
        });
      } else if (r.onHand !== l.onHand || r.reserved !== l.reserved) {
        found.push({
          ...at,
          cause:
            `at version ${l.version} PostgreSQL has on_hand ${l.onHand}, reserved ` +
            `${l.reserved}; Redis has on_hand ${r.onHand}, reserved ${r.reserved}`,
        });
      }
    }
    if (newer || !m?.totals) continue;
    const onHand = own.reduce((s, l) => s + l.onHand, 0);
    const reserved = own.reduce((s, l) => s + l.reserved, 0);
    const t = m.totals;
    if (
      t.onHand !== onHand ||
      t.reserved !== reserved ||
      t.available !== onHand - reserved
    ) {
      found.push({
        sku,
        warehouseId: '',
        cause:
          `totals in Redis on_hand ${t.onHand}, reserved ${t.reserved}, available ` +
          `${t.available}; PostgreSQL sums to ${onHand}, ${reserved}, ${onHand - reserved}`,
      });
    }
  }
  return found;
}
