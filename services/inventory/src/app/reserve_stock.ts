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
  type ReservationLine,
} from '../domain/reservation.js';
import {alertTransition} from '../domain/stock_level.js';
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
    const outcome = await this.store.reserve(reservation);
    if (outcome.kind === 'exists')
      return this.existing(cmd.reservationId, print);
    if (outcome.kind === 'short') throw await this.shortage(lines);
    const byKey = new Map(
      lines.map(l => [`${l.sku}\u0000${l.warehouseId}`, l.quantity]),
    );
    const crossed = outcome.levels
      .map(level => ({
        wasLow: wasLowBefore(
          level,
          0,
          byKey.get(`${level.sku}\u0000${level.warehouseId}`) ?? 0,
        ),
        level,
      }))
      .filter(c => alertTransition(c.wasLow, c.level) !== 'none');
    // Rare: only when a level crossed its threshold. A crash right here leaves the alert to
    // the reconciler (ReconcileAlerts), which compares every level with its alert.
    if (crossed.length > 0)
      await this.store.tx(tx => followAlerts(tx, crossed));
    await this.mirror.publish(outcome.levels);
    return reservation;
  }

  /** The error for the first line that could not be held (nothing was written). */
  private async shortage(lines: readonly ReservationLine[]): Promise<Error> {
    const available = await this.store.availableFor(lines);
    for (const [i, line] of lines.entries()) {
      if (available[i] === undefined) return new UnknownSkuError(line.sku);
      if (available[i]! < line.quantity)
        return new OutOfStockError(line.sku, line.quantity, available[i]!);
    }
    // Stock came back between the attempt and this read: report the first line anyway.
    return new OutOfStockError(
      lines[0].sku,
      lines[0].quantity,
      available[0] ?? 0,
    );
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
