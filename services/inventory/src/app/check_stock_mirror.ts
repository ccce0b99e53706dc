/**
 * CheckStockMirror: compares every level of PostgreSQL with the Redis mirror and, when
 * asked, rewrites the SKUs that differ. For the reconciler (Order) and operators.
 */
import {mirrorDrift, type MirrorMismatch} from '../domain/mirror_drift.js';
import type {InventoryStore, StockMirrorCheck} from './ports.js';

/** The most mismatches one answer lists (all are repaired). */
const MAX_LISTED = 1000;

export class CheckStockMirror {
  constructor(
    private readonly store: InventoryStore,
    private readonly mirror: StockMirrorCheck,
    /** Seconds since Inventory's oldest unpublished event was written (0 when none). */
    private readonly outboxLagSeconds: () => Promise<number> = async () => 0,
  ) {}

  async execute(repair: boolean): Promise<{
    mismatches: MirrorMismatch[];
    levelsChecked: number;
    repairedSkus: number;
    outboxLagSeconds: number;
  }> {
    // PostgreSQL first: see mirror_drift.ts for why the order matters.
    const levels = await this.store.allLevels();
    const mirrored = await this.mirror.read([
      ...new Set(levels.map(l => l.sku)),
    ]);
    const mismatches = mirrorDrift(levels, mirrored);
    let repairedSkus = 0;
    if (repair && mismatches.length > 0) {
      const skus = [...new Set(mismatches.map(m => m.sku))];
      // Re-read the levels just before rewriting, so the rewrite is as fresh as it can be.
      await this.mirror.rewrite(await this.store.levelsOf(skus));
      repairedSkus = skus.length;
    }
    return {
      mismatches: mismatches.slice(0, MAX_LISTED),
      levelsChecked: levels.length,
      repairedSkus,
      outboxLagSeconds: await this.outboxLagSeconds(),
    };
  }
}
