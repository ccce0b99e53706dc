/**
 * The purchase saga as data: its steps in order, each with its action, its undo, how
 * recovery tells whether it took effect, and the failure reason it gives an order.
 * PlaceOrder runs them, RecoverOrders finishes or undoes them, and nothing else holds
 * a copy of the undo logic.
 *
 *   reserve stock ──▶ charge payment ──▶ commit stock (the pivot) ──▶ PAID
 *
 * Every undo is registered before its action, and is safe whether or not the action
 * took effect (a release of a reservation never made, a void of a payment never seen),
 * because a lost answer leaves the caller not knowing. Once the pivot succeeded (stock
 * committed, money captured) the saga only rolls forward: nothing after it is undone.
 */
import {
  DomainError,
  type ErrorKind,
} from '../../../common/errors/domain_error.js';
import {derivedId} from '../../../common/idempotency/derived_id.js';
import {PaymentCapturedError, StockShortageError} from '../domain/errors.js';
import type {FailureReason, Order} from '../domain/order.js';
import type {InventoryGateway, PaymentGateway} from './ports.js';

/** How a failed step ends its order. */
export interface StepFailure {
  reason: FailureReason;
  /** For people; never carries internal addresses or peer error text. */
  message: string;
  /** A dependency could not be reached: the client may retry its request id. */
  retryable: boolean;
}

export interface PurchaseStep {
  /** Names the step in logs and in an order's pending undo list. */
  readonly name: string;
  /** Past this step the saga only rolls forward. */
  readonly pivot: boolean;
  run(order: Order, paymentToken: string): Promise<void>;
  /** Idempotent; leaves no effect whether or not `run` took one. Absent for the pivot. */
  readonly undo?: (order: Order) => Promise<void>;
  /** True when the step's effect is known to exist (recovery's question). */
  tookEffect(order: Order): Promise<boolean>;
  /** The failure a thrown error of `run` means for the order. */
  failure(err: unknown): StepFailure;
}

/** The refund id a saga uses to undo its own capture (the same on every retry). */
export function sagaRefundId(orderId: string): string {
  return derivedId(orderId, 'saga-refund');
}

/** A card decline: the charge step's definite "no". */
export class PaymentDeclinedError extends Error {
  constructor(readonly declineCode: string) {
    super(`payment declined: ${declineCode}`);
  }
}

/** Errors that say a peer refused (it did nothing), as opposed to "no answer". */
const REFUSALS: readonly ErrorKind[] = [
  'failed_precondition',
  'not_found',
  'invalid_argument',
  'already_exists',
];

/** True when `err` is a peer's definite refusal (the step took no effect). */
export function isRefusal(err: unknown): boolean {
  return err instanceof DomainError && REFUSALS.includes(err.kind);
}

function unreachable(err: unknown): boolean {
  return err instanceof DomainError && err.kind === 'unavailable';
}

export interface PurchaseStepDeps {
  inventory: InventoryGateway;
  payment: PaymentGateway;
  /** How long a reservation holds when nobody commits or releases it. */
  reservationTtlMs: number;
}

export function purchaseSteps(deps: PurchaseStepDeps): readonly PurchaseStep[] {
  const {inventory, payment} = deps;
  const reserve: PurchaseStep = {
    name: 'reserve stock',
    pivot: false,
    run: order =>
      inventory.reserve(
        order.reservationId,
        order.id,
        order.lines,
        deps.reservationTtlMs,
      ),
    undo: order => inventory.release(order.reservationId),
    tookEffect: async order => {
      const state = await inventory.reservationState(order.reservationId);
      return state === 'active' || state === 'committed';
    },
    failure: err => {
      if (err instanceof StockShortageError)
        return {reason: 'out_of_stock', message: err.message, retryable: false};
      if (err instanceof DomainError && err.kind === 'not_found') {
        // A SKU Inventory does not stock is out of stock to the buyer.
        return {reason: 'out_of_stock', message: err.message, retryable: false};
      }
      if (unreachable(err)) {
        return {
          reason: 'inventory_error',
          message: 'Inventory could not be reached; nothing was charged',
          retryable: true,
        };
      }
      return {
        reason: 'inventory_error',
        message: 'Inventory could not reserve the stock; nothing was charged',
        retryable: false,
      };
    },
  };

  const charge: PurchaseStep = {
    name: 'charge payment',
    pivot: false,
    run: async (order, token) => {
      const answer = await payment.charge(
        order.paymentId,
        order.id,
        order.total,
        token,
      );
      if (!answer.approved) throw new PaymentDeclinedError(answer.declineCode);
    },
    // Void first: by payment id it is safe even when the charge answer was lost (Payment
    // tombstones an id it never saw); a captured payment is refunded instead, and an
    // outcome Payment cannot tell yet throws, so the undo stays pending.
    undo: async order => {
      try {
        await payment.void(order.paymentId);
      } catch (err) {
        if (!(err instanceof PaymentCapturedError)) throw err;
        await payment.refund(
          order.paymentId,
          sagaRefundId(order.id),
          order.total,
          'order failed after payment',
        );
      }
    },
    tookEffect: async order =>
      (await payment.state(order.paymentId)) === 'captured',
    failure: err => {
      if (err instanceof PaymentDeclinedError)
        return {
          reason: 'payment_declined',
          message: err.message,
          retryable: false,
        };
      if (unreachable(err)) {
        return {
          reason: 'payment_error',
          message:
            'Payment could not be reached; any charge is given back and the stock released',
          retryable: true,
        };
      }
      return {
        reason: 'payment_error',
        message: 'the payment could not be completed; nothing stays charged',
        retryable: false,
      };
    },
  };

  const commit: PurchaseStep = {
    name: 'commit stock',
    pivot: true,
    run: order => inventory.commit(order.reservationId),
    tookEffect: async order =>
      (await inventory.reservationState(order.reservationId)) === 'committed',
    failure: () => ({
      reason: 'inventory_error',
      message:
        'the stock reservation lapsed before it could be committed; the payment was refunded',
      retryable: false,
    }),
  };

  return [reserve, charge, commit];
}

/** The steps before the pivot: the only ones that are ever undone. */
export function undoableSteps(
  steps: readonly PurchaseStep[],
): readonly PurchaseStep[] {
  const pivot = steps.findIndex(s => s.pivot);
  return pivot < 0 ? steps : steps.slice(0, pivot);
}

export function pivotStep(steps: readonly PurchaseStep[]): PurchaseStep {
  const pivot = steps.find(s => s.pivot);
  if (!pivot) throw new Error('a purchase saga needs a pivot step');
  return pivot;
}

/**
 * Runs the undo of every step named in `names` (all undoable steps when omitted), in
 * reverse step order; throws the first failure after trying them all, so one stuck
 * undo does not hold back the others.
 */
export async function undoSteps(
  steps: readonly PurchaseStep[],
  order: Order,
  names?: readonly string[],
): Promise<void> {
  let first: unknown;
  for (const step of [...undoableSteps(steps)].reverse()) {
    if (!step.undo || (names && !names.includes(step.name))) continue;
    try {
      await step.undo(order);
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}
