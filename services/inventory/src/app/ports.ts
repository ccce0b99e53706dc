/**
 * What Inventory's use cases need from the outside world. Implemented in infra/ by
 * PostgreSQL (the truth), Redis (the real-time mirror) and the event bus.
 */
import type {ScanQuery} from '../../../common/paging/scan_cursor.js';
import type {MirroredSku} from '../domain/mirror_drift.js';
import type {Reservation, ReservationLine} from '../domain/reservation.js';
import type {AdjustmentReason, StockLevel} from '../domain/stock_level.js';

export interface LowStockAlert {
  readonly id: string;
  readonly sku: string;
  readonly warehouseId: string;
  readonly state: 'active' | 'cleared';
  readonly available: number;
  readonly threshold: number;
  readonly raisedAt: Date;
  readonly clearedAt: Date | undefined;
}

/** What happened to a reservation taken in one step. */
export type ReserveOutcome =
  | {kind: 'held'; levels: StockLevel[]}
  /** The reservation id exists already; nothing was written. */
  | {kind: 'exists'}
  /** Some line could not be held; nothing was written. */
  | {kind: 'short'};

/** Reads and transactions on the stock database. */
export interface InventoryStore {
  tx<T>(work: (tx: InventoryTx) => Promise<T>): Promise<T>;
  /**
   * Records a new reservation and holds all its lines, or nothing, in one atomic step
   * (the hot path of every order).
   */
  reserve(reservation: Reservation): Promise<ReserveOutcome>;
  /**
   * Commits a reservation that is active and unexpired at `now`, taking its units out
   * of stock, in one atomic step. Undefined when it is not in that state (then the
   * caller applies the domain rules to say why, or that it is a repeat).
   */
  commitIfLive(
    reservationId: string,
    now: Date,
  ): Promise<{reservation: Reservation; levels: StockLevel[]} | undefined>;
  /** Available units of each line's SKU and warehouse (undefined: not stocked). */
  availableFor(
    lines: readonly ReservationLine[],
  ): Promise<Array<number | undefined>>;
  /** Levels whose low-stock state disagrees with their open alert (for the reconciler). */
  levelsWithStaleAlerts(
    limit: number,
  ): Promise<Array<{level: StockLevel; alertOpen: boolean}>>;
  /** Levels of these SKUs in every warehouse, ordered by SKU then warehouse. */
  levelsOf(skus: readonly string[]): Promise<StockLevel[]>;
  /** Every level (for rebuilding the Redis mirror). */
  allLevels(): Promise<StockLevel[]>;
  findReservation(id: string): Promise<Reservation | undefined>;
  /** One page of reservations in (update time, id) order (for reconciliation). */
  scanReservations(q: ScanQuery): Promise<Reservation[]>;
  /** Alerts newest first, after the cursor `before` (an alert id) when given. */
  listAlerts(
    includeCleared: boolean,
    limit: number,
    before?: string,
  ): Promise<LowStockAlert[]>;
}

/** Operations inside one transaction. */
export interface InventoryTx {
  /** Loads and row-locks a reservation. */
  lockReservation(id: string): Promise<Reservation | undefined>;
  saveReservationState(reservation: Reservation): Promise<void>;
  /** Commit: removes held units from on_hand and reserved. */
  takeUnits(lines: readonly ReservationLine[]): Promise<StockLevel[]>;
  /** Release: gives held units back (reserved decreases). */
  returnUnits(lines: readonly ReservationLine[]): Promise<StockLevel[]>;
  /** Reservations whose lease ran out, row-locked, skipping ones locked elsewhere. */
  lockExpired(now: Date, limit: number): Promise<Reservation[]>;
  /** Row-locks a level, or undefined when the SKU is not stocked in the warehouse. */
  lockLevel(sku: string, warehouseId: string): Promise<StockLevel | undefined>;
  /** Creates a level with zero stock. */
  createLevel(sku: string, warehouseId: string): Promise<StockLevel>;
  /** Adds delta to on_hand; the caller checked the result stays valid. */
  addOnHand(
    sku: string,
    warehouseId: string,
    delta: number,
  ): Promise<StockLevel>;
  setThreshold(
    sku: string,
    warehouseId: string,
    threshold: number,
  ): Promise<StockLevel>;
  /**
   * Records an adjustment under its request id; false when that id was used before
   * (then `existingAdjustment` tells what it was for).
   */
  recordAdjustment(adjustment: {
    requestId: string;
    sku: string;
    warehouseId: string;
    delta: number;
    reason: AdjustmentReason;
    note: string;
    fingerprint: string;
  }): Promise<boolean>;
  existingAdjustment(
    requestId: string,
  ): Promise<
    {fingerprint: string; sku: string; warehouseId: string} | undefined
  >;
  /** Raises or clears the alert of a level and queues the alert event (outbox). */
  raiseAlert(level: StockLevel): Promise<void>;
  clearAlert(level: StockLevel): Promise<void>;
}

/** The Redis mirror of stock levels. Best effort: PostgreSQL stays the truth. */
export interface StockMirror {
  /** Writes the levels (newer versions win) and tells watchers. */
  publish(levels: readonly StockLevel[]): Promise<void>;
}

/** Reading and rewriting the mirror wholesale (reconciliation). */
export interface StockMirrorCheck {
  /** The mirror's state of these SKUs; throws UnavailableError when it cannot be read. */
  read(skus: readonly string[]): Promise<Map<string, MirroredSku>>;
  /**
   * Replaces the mirror keys of the SKUs of `levels` (every level of each) with them,
   * whatever versions the mirror holds: the repair for a level changed behind
   * Inventory's back, which a newer-version-wins write would never overwrite.
   */
  rewrite(levels: readonly StockLevel[]): Promise<void>;
}

export interface Clock {
  now(): Date;
}
