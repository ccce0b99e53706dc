/**
 * A reservation: a lease on stock for an order, in two phases. It is created ACTIVE
 * holding every line, then exactly one of: COMMITTED (the units leave stock), RELEASED
 * (given back on request) or EXPIRED (given back when the lease ran out). Repeating the
 * transition a reservation already made is a no-op, so callers can retry safely.
 */
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import {IllegalReservationTransitionError} from './errors.js';
import {DEFAULT_WAREHOUSE} from './stock_level.js';

export type ReservationState = 'active' | 'committed' | 'released' | 'expired';

export interface ReservationLine {
  readonly sku: string;
  readonly warehouseId: string;
  readonly quantity: number;
}

/** Default and longest leases. */
export const DEFAULT_TTL_MS = 15 * 60 * 1000;

export class Reservation {
  constructor(
    readonly id: string,
    readonly orderId: string,
    private stateValue: ReservationState,
    readonly lines: readonly ReservationLine[],
    readonly expiresAt: Date,
    readonly createdAt: Date,
    private updatedAtValue: Date,
    /** Fingerprint of the request that created it, to recognise retries. */
    readonly fingerprint: string,
  ) {}

  get state(): ReservationState {
    return this.stateValue;
  }

  get updatedAt(): Date {
    return this.updatedAtValue;
  }

  /** Active and not past its expiry. */
  isLive(now: Date): boolean {
    return this.stateValue === 'active' && this.expiresAt > now;
  }

  /**
   * Moves to COMMITTED. Returns false when already committed (nothing to do). A lease
   * that ran out cannot be committed even before the sweeper marked it expired: the
   * units may have been promised to someone else in the meantime.
   */
  commit(now: Date): boolean {
    if (this.stateValue === 'committed') return false;
    if (this.stateValue === 'active' && this.expiresAt <= now) {
      throw new IllegalReservationTransitionError(
        this.id,
        'expired',
        'committed',
      );
    }
    this.transition('committed', now);
    return true;
  }

  /** Moves to RELEASED. Returns false when already released or expired. */
  release(now: Date): boolean {
    if (this.stateValue === 'released' || this.stateValue === 'expired')
      return false;
    this.transition('released', now);
    return true;
  }

  /** Moves an active reservation whose lease ran out to EXPIRED. */
  expire(now: Date): void {
    if (this.expiresAt > now) {
      throw new IllegalReservationTransitionError(
        this.id,
        'active until its expiry',
        'expired',
      );
    }
    this.transition('expired', now);
  }

  private transition(to: ReservationState, now: Date): void {
    if (this.stateValue !== 'active') {
      throw new IllegalReservationTransitionError(this.id, this.stateValue, to);
    }
    this.stateValue = to;
    this.updatedAtValue = now;
  }
}

/**
 * Fills in default warehouses, rejects a SKU that appears twice (a client bug that
 * would otherwise double-hold stock), and sorts lines by SKU and warehouse so that
 * concurrent reservations lock stock rows in one order (no deadlocks).
 */
export function normalizeLines(
  lines: ReadonlyArray<{sku: string; warehouseId?: string; quantity: number}>,
): ReservationLine[] {
  const seen = new Set<string>();
  const result = lines.map((line, i) => {
    const warehouseId = line.warehouseId || DEFAULT_WAREHOUSE;
    const key = `${line.sku}\u0000${warehouseId}`;
    if (seen.has(key)) {
      throw new InvalidArgumentError(
        `lines[${i}].sku`,
        `SKU ${line.sku} appears more than once; send one line with the total quantity`,
      );
    }
    seen.add(key);
    return {sku: line.sku, warehouseId, quantity: line.quantity};
  });
  return result.sort((a, b) =>
    a.sku < b.sku
      ? -1
      : a.sku > b.sku
        ? 1
        : a.warehouseId < b.warehouseId
          ? -1
          : a.warehouseId > b.warehouseId
            ? 1
            : 0,
  );
}
