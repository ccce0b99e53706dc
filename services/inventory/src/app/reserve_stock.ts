/**
 * ReserveStock: hold every line of a basket, all or nothing.
 */
import {IdempotencyConflictError} from '../../../common/errors/domain_error.js';
import {fingerprint} from '../../../common/idempotency/fingerprint.js';
import {OutOfStockError, UnknownSkuError} from '../domain/errors.js';
import {
  DEFAULT_TTL_MS,
  normalizeLines,
  Reservation,
} from '../domain/reservation.js';
import type {StockLevel} from '../domain/stock_level.js';
import {followAlerts, wasLowBefore} from './alerts.js';
import type {Clock, InventoryStore, StockMirror} from './ports.js';

export interface ReserveStockCommand {
  reservationId: string;
  orderId: string;
  lines: ReadonlyArray<{sku: string; warehouseId?: string; quantity: number}>;
  /** Lease length; undefined means the default. */
  ttlMs?: number;
}

export class ReserveStock {
  constructor(
    private readonly store: InventoryStore,
    private readonly mirror: StockMirror,
    private readonly clock: Clock,
  ) {}

  /**
   * Holds the lines. The same reservation id with the same lines returns the existing
   * reservation (whatever its state now); with other lines it is refused.
   */
  async execute(cmd: ReserveStockCommand): Promise<Reservation> {
    const lines = normalizeLines(cmd.lines);
    const print = fingerprint({orderId: cmd.orderId, lines});
    const now = this.clock.now();
    const reservation = new Reservation(
      cmd.reservationId,
      cmd.orderId,
      'active',
      lines,
      new Date(now.getTime() + (cmd.ttlMs ?? DEFAULT_TTL_MS)),
      now,
      now,
      print,
    );
    const outcome = await this.store.tx(async tx => {
      if (!(await tx.insertReservation(reservation))) {
        return {existing: true as const};
      }
      const changed: StockLevel[] = [];
      // Lines are sorted by SKU, so concurrent baskets lock rows in the same order.
      for (const line of lines) {
        const level = await tx.holdUnits(line);
        if (!level) {
          const availableNow = await tx.availableOf(line.sku, line.warehouseId);
          // Throwing rolls the whole transaction back: no line stays held.
          if (availableNow === undefined) throw new UnknownSkuError(line.sku);
          throw new OutOfStockError(line.sku, line.quantity, availableNow);
        }
        changed.push(level);
      }
      await followAlerts(
        tx,
        changed.map((level, i) => ({
          wasLow: wasLowBefore(level, 0, lines[i].quantity),
          level,
        })),
      );
      return {existing: false as const, changed};
    });
    if (outcome.existing) return this.existing(cmd.reservationId, print);
    await this.mirror.publish(outcome.changed);
    return reservation;
  }

  private async existing(id: string, print: string): Promise<Reservation> {
    const found = await this.store.findReservation(id);
    if (!found) {
      // Inserted by a concurrent request that then rolled back: ask the client to retry.
      throw new IdempotencyConflictError('reservation_id', id);
    }
    if (found.fingerprint !== print) {
      throw new IdempotencyConflictError('reservation_id', id);
    }
    return found;
  }
}
