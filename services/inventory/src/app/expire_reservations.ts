/**
 * Gives back the stock of reservations whose lease ran out. Runs periodically in every
 * replica; `skip locked` lets replicas share the work without waiting on each other.
 */
import type {StockLevel} from '../domain/stock_level.js';
import {followAlerts} from './alerts.js';
import {returnedChanges} from './finish_reservation.js';
import type {Clock, InventoryStore, StockMirror} from './ports.js';

export class ExpireReservations {
  constructor(
    private readonly store: InventoryStore,
    private readonly mirror: StockMirror,
    private readonly clock: Clock,
    private readonly batchSize = 100,
  ) {}

  /** Expires one batch; returns how many reservations expired. */
  async execute(): Promise<number> {
    const now = this.clock.now();
    const {count, changed} = await this.store.tx(async tx => {
      const due = await tx.lockExpired(now, this.batchSize);
      const levels: StockLevel[] = [];
      for (const reservation of due) {
        reservation.expire(now);
        await tx.saveReservationState(reservation);
        const returned = await tx.returnUnits(reservation.lines);
        await followAlerts(tx, returnedChanges(returned, reservation));
        levels.push(...returned);
      }
      return {count: due.length, changed: levels};
    });
    if (changed.length > 0) await this.mirror.publish(changed);
    return count;
  }
}
