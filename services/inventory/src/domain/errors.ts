/** Inventory's domain errors. */
import {
  DomainError,
  FailedPreconditionError,
  NotFoundError,
} from '../../../common/errors/domain_error.js';

/** A line asks for more units than are available. */
export class OutOfStockError extends DomainError {
  constructor(
    readonly sku: string,
    readonly requested: number,
    readonly available: number,
  ) {
    super(
      'failed_precondition',
      `out of stock: SKU ${sku} has ${available} available, ${requested} requested`,
      {sku, requested: String(requested), available: String(available)},
    );
  }
}

/** The SKU has no stock record (in the warehouse). */
export class UnknownSkuError extends NotFoundError {
  constructor(sku: string, warehouseId?: string) {
    super(
      'SKU',
      sku,
      warehouseId
        ? `SKU ${sku} is not stocked in warehouse ${warehouseId}`
        : `SKU ${sku} is not stocked; restock it first (AdjustStock with reason RESTOCK)`,
    );
  }
}

export class UnknownReservationError extends NotFoundError {
  constructor(reservationId: string) {
    super('reservation', reservationId);
  }
}

/** A reservation cannot go from its state to the one asked for. */
export class IllegalReservationTransitionError extends FailedPreconditionError {
  constructor(reservationId: string, from: string, to: string) {
    super(`reservation ${reservationId} is ${from}; it cannot become ${to}`, {
      reservationId,
      state: from,
    });
  }
}
