/**
 * CommitReservation and ReleaseReservation: the second phase of a reservation.
 */
import {UnknownReservationError} from '../domain/errors.js';
import type {Reservation} from '../domain/reservation.js';
import type {StockLevel} from '../domain/stock_level.js';
import {followAlerts, wasLowBefore} from './alerts.js';
import type {Clock, InventoryStore, InventoryTx, StockMirror} from './ports.js';

abstract class FinishReservation {
  constructor(
    protected readonly store: InventoryStore,
    protected readonly mirror: StockMirror,
    protected readonly clock: Clock,
  ) {}

  /** Applies the transition; idempotent (a repeat changes nothing and returns it). */
  async execute(reservationId: string): Promise<Reservation> {
    const now = this.clock.now();
    const {reservation, changed} = await this.store.tx(async tx => {
      const found = await tx.lockReservation(reservationId);
      if (!found) throw new UnknownReservationError(reservationId);
      if (!this.transition(found, now))
        return {reservation: found, changed: []};
      await tx.saveReservationState(found);
      return {reservation: found, changed: await this.moveStock(tx, found)};
    });
    if (changed.length > 0) await this.mirror.publish(changed);
    return reservation;
  }

  protected abstract transition(reservation: Reservation, now: Date): boolean;
  protected abstract moveStock(
    tx: InventoryTx,
    reservation: Reservation,
  ): Promise<StockLevel[]>;
}

/** Takes the reserved units out of stock for good. */
export class CommitReservation extends FinishReservation {
  /**
   * The common case, an active and unexpired reservation, is one statement; repeats and
   * refusals go through the domain rules.
   */
  override async execute(reservationId: string): Promise<Reservation> {
    const done = await this.store.commitIfLive(reservationId, this.clock.now());
    if (!done) return super.execute(reservationId);
    await this.mirror.publish(done.levels);
    return done.reservation;
  }

  protected transition(reservation: Reservation, now: Date): boolean {
    return reservation.commit(now);
  }

  protected async moveStock(
    tx: InventoryTx,
    reservation: Reservation,
  ): Promise<StockLevel[]> {
    // on_hand and reserved fall together: available, and so alerts, do not change.
    return tx.takeUnits(reservation.lines);
  }
}

/** Gives the reserved units back. */
export class ReleaseReservation extends FinishReservation {
  protected transition(reservation: Reservation, now: Date): boolean {
    return reservation.release(now);
  }

  protected async moveStock(
    tx: InventoryTx,
    reservation: Reservation,
  ): Promise<StockLevel[]> {
    const levels = await tx.returnUnits(reservation.lines);
    await followAlerts(tx, returnedChanges(levels, reservation));
    return levels;
  }
}

/** Alert bookkeeping for levels whose reserved units were given back. */
export function returnedChanges(
  levels: readonly StockLevel[],
  reservation: Reservation,
) {
  return levels.map(level => {
    const held = reservation.lines
      .filter(l => l.sku === level.sku && l.warehouseId === level.warehouseId)
      .reduce((sum, l) => sum + l.quantity, 0);
    return {wasLow: wasLowBefore(level, 0, -held), level};
  });
}
