/**
 * A payment: one authorization on a payment method and what became of it.
 *
 *   PENDING ──the provider's answer──▶ AUTHORIZED (or DECLINED)
 *
 *   AUTHORIZED ──capture──▶ CAPTURED ──refund──▶ PARTIALLY_REFUNDED ──refund──▶ REFUNDED
 *        │                     └──────────────── refund (all of it) ──────────────▲
 *        └──void──▶ VOIDED          DECLINED (the provider said no; nothing to do)
 *
 * Every operation can be repeated safely: the order saga retries after timeouts and
 * crashes, so a repeat of what already happened returns the payment unchanged instead of
 * failing (capture with the same amount, void of a VOIDED payment, a refund id already
 * used with the same amount). What was never possible stays FAILED_PRECONDITION.
 *
 * A payment starts PENDING, written before the provider is asked (intent before effect):
 * if the answer is lost, the row is still there to be resolved by asking the provider by
 * its idempotency key, instead of a charge nobody knows of.
 *
 * The aggregate records what happened to it (`events`) and the ledger entries of its
 * money (`ledgerEntries`, see ledger.ts) for the store to write in the same transaction
 * as the state; it knows nothing of SQL, gRPC or providers.
 */
import {IdempotencyConflictError} from '../../../common/errors/domain_error.js';
import {Money} from '../../../common/money/money.js';
import {
  AmountExceedsError,
  IllegalPaymentTransitionError,
  PaymentCurrencyError,
  PaymentOutcomeUnknownError,
} from './errors.js';
import {
  authorizeEntry,
  captureEntry,
  refundEntry,
  voidEntry,
  type LedgerEntry,
} from './ledger.js';

/**
 * The decline code of an authorization that arrived after its payment id was voided
 * (a tombstone): the caller had given up on it, so the provider is never asked.
 */
export const VOIDED_BEFORE_AUTHORIZE = 'voided_before_authorize';

/**
 * The decline code of a PENDING payment the provider has no record of once the cut-off
 * passed: the call never reached it, so nothing was held or charged.
 */
export const NOT_RECEIVED_BY_PROVIDER = 'not_received_by_provider';

export type PaymentState =
  | 'pending'
  | 'authorized'
  | 'declined'
  | 'captured'
  | 'voided'
  | 'partially_refunded'
  | 'refunded';

/** What happened to a payment; each becomes a `payment.<event>` integration event. */
export type PaymentEvent =
  'authorized' | 'declined' | 'captured' | 'voided' | 'refunded';

export interface Refund {
  /** Chosen by the client; unique over all payments. */
  readonly refundId: string;
  readonly amount: Money;
  readonly reason: string;
  readonly createdAt: Date;
}

/** Everything a payment holds; what the store reads and writes. */
export interface PaymentProps {
  readonly id: string;
  readonly orderId: string;
  readonly state: PaymentState;
  /** The authorized amount. */
  readonly amount: Money;
  /** Zero until captured. */
  readonly capturedAmount: Money;
  /** Sum of `refunds`; zero until refunded. */
  readonly refundedAmount: Money;
  /** Set only when DECLINED. */
  readonly declineCode: string;
  readonly provider: string;
  /** The provider's id of the authorization (or of the declined attempt). */
  readonly providerReference: string;
  /** Oldest first. */
  readonly refunds: readonly Refund[];
  /** Fingerprint of the authorize request, to tell a retry from a reused id. */
  readonly requestFingerprint: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What a new payment starts from, whatever the provider answered. */
export interface NewPayment {
  id: string;
  orderId: string;
  amount: Money;
  provider: string;
  providerReference: string;
  requestFingerprint: string;
  now: Date;
}

/** The provider's answer to an authorization, as the domain sees it. */
export type AuthorizationOutcome =
  | {approved: true; reference: string}
  | {approved: false; reference: string; declineCode: string};

/**
 * A payment id voided before any authorization with it reached Payment: it holds
 * nothing, and makes a later authorization with the id decline without reaching the
 * provider (VOIDED_BEFORE_AUTHORIZE).
 */
export class VoidTombstone {
  readonly state = 'voided';
  constructor(
    readonly id: string,
    readonly createdAt: Date,
  ) {}
}

/** What the store holds under a payment id. */
export type PaymentRecord = Payment | VoidTombstone;

/** The outcome of `refund()`: the refund, and whether it was made by this call. */
export interface RefundOutcome {
  refund: Refund;
  /** False when `refundId` was used before with the same amount (a retry). */
  created: boolean;
}

const CAPTURED_STATES: ReadonlySet<PaymentState> = new Set([
  'captured',
  'partially_refunded',
  'refunded',
]);

export class Payment {
  private props: PaymentProps;
  private readonly recorded: PaymentEvent[] = [];
  private readonly entries: LedgerEntry[] = [];

  private constructor(props: PaymentProps, event?: PaymentEvent) {
    this.props = props;
    if (event) this.recorded.push(event);
  }

  /**
   * A payment about to be authorized: written before the provider is asked, so a lost
   * answer leaves a row to resolve. Records no event and posts nothing: no money moved
   * yet, as far as anyone knows.
   */
  static pending(p: Omit<NewPayment, 'providerReference'>): Payment {
    return new Payment(
      Payment.initial({...p, providerReference: ''}, 'pending', ''),
    );
  }

  /** A payment the provider authorized (pending, then settled). */
  static authorized(p: NewPayment): Payment {
    const payment = Payment.pending(p);
    payment.settle({approved: true, reference: p.providerReference}, p.now);
    return payment;
  }

  /**
   * An authorization that arrived for a voided payment id (a tombstone): declined with
   * VOIDED_BEFORE_AUTHORIZE, with the request's details, and the provider never asked.
   */
  static voidedBeforeAuthorize(
    p: Omit<NewPayment, 'providerReference'>,
  ): Payment {
    return new Payment(
      Payment.initial(
        {...p, providerReference: ''},
        'declined',
        VOIDED_BEFORE_AUTHORIZE,
      ),
      'declined',
    );
  }

  /**
   * A payment the provider declined. It is stored like any other so that a retry of the
   * same authorization gets the same answer without asking the provider again.
   */
  static declined(p: NewPayment, declineCode: string): Payment {
    return new Payment(
      Payment.initial(p, 'declined', declineCode || 'declined'),
      'declined',
    );
  }

  /** A payment loaded from storage (records no event). */
  static restore(props: PaymentProps): Payment {
    return new Payment(props);
  }

  private static initial(
    p: NewPayment,
    state: PaymentState,
    declineCode: string,
  ): PaymentProps {
    p.amount.assertChargeable('amount');
    const zero = Money.zero(p.amount.currencyCode);
    return {
      id: p.id,
      orderId: p.orderId,
      state,
      amount: p.amount,
      capturedAmount: zero,
      refundedAmount: zero,
      declineCode,
      provider: p.provider,
      providerReference: p.providerReference,
      refunds: [],
      requestFingerprint: p.requestFingerprint,
      createdAt: p.now,
      updatedAt: p.now,
    };
  }

  get id(): string {
    return this.props.id;
  }
  get orderId(): string {
    return this.props.orderId;
  }
  get state(): PaymentState {
    return this.props.state;
  }
  get amount(): Money {
    return this.props.amount;
  }
  get capturedAmount(): Money {
    return this.props.capturedAmount;
  }
  get refundedAmount(): Money {
    return this.props.refundedAmount;
  }
  get declineCode(): string {
    return this.props.declineCode;
  }
  get provider(): string {
    return this.props.provider;
  }
  get providerReference(): string {
    return this.props.providerReference;
  }
  get refunds(): readonly Refund[] {
    return this.props.refunds;
  }
  get requestFingerprint(): string {
    return this.props.requestFingerprint;
  }
  get createdAt(): Date {
    return this.props.createdAt;
  }
  get updatedAt(): Date {
    return this.props.updatedAt;
  }

  /**
   * What happened to this object since it was created or loaded, oldest first. Reading
   * does not clear it: a transaction retried after a deadlock loads the payment again and
   * gets a fresh list, so no event is lost or doubled.
   */
  get events(): readonly PaymentEvent[] {
    return this.recorded;
  }

  /** The ledger entries of the changes since creation or loading, oldest first. */
  get ledgerEntries(): readonly LedgerEntry[] {
    return this.entries;
  }

  /**
   * Records the provider's answer to the authorization of a PENDING payment: AUTHORIZED
   * (posting the hold) or DECLINED. Returns false, changing nothing, when the payment is
   * no longer PENDING (another request or the resolver recorded the answer first; the
   * provider's idempotency key made it the same answer).
   */
  settle(outcome: AuthorizationOutcome, now: Date): boolean {
    if (this.props.state !== 'pending') return false;
    if (outcome.approved) {
      this.change(
        {state: 'authorized', providerReference: outcome.reference},
        now,
        'authorized',
        authorizeEntry(this.props.amount),
      );
    } else {
      this.change(
        {
          state: 'declined',
          providerReference: outcome.reference,
          declineCode: outcome.declineCode || 'declined',
        },
        now,
        'declined',
      );
    }
    return true;
  }

  /** What can still be refunded: captured minus refunded (zero before capture). */
  get refundableAmount(): Money {
    return this.props.capturedAmount.minus(this.props.refundedAmount);
  }

  /** A plain copy of the state, for the store. */
  snapshot(): PaymentProps {
    return this.props;
  }

  /**
   * Charges `amount` (undefined: the whole authorization) once. Capturing less than was
   * authorized releases the rest: there is no second capture. Returns false, changing
   * nothing, when the payment was already captured with this same amount (a retry).
   */
  capture(amount: Money | undefined, now: Date): boolean {
    if (this.props.state === 'pending') {
      throw new PaymentOutcomeUnknownError(this.id, 'captured');
    }
    const requested = amount ?? this.props.amount;
    this.assertSameCurrency(requested);
    requested.assertChargeable('amount');
    if (
      CAPTURED_STATES.has(this.props.state) &&
      requested.equals(this.props.capturedAmount)
    ) {
      return false;
    }
    if (this.props.state !== 'authorized') {
      throw new IllegalPaymentTransitionError(
        this.id,
        this.props.state,
        'captured',
        CAPTURED_STATES.has(this.props.state)
          ? `it was captured once already (${this.props.capturedAmount.format()})`
          : 'only an AUTHORIZED payment can be captured',
      );
    }
    if (requested.compare(this.props.amount) > 0) {
      throw new AmountExceedsError(
        this.id,
        'capture',
        requested.format(),
        this.props.amount.format(),
      );
    }
    this.change(
      {state: 'captured', capturedAmount: requested},
      now,
      'captured',
      captureEntry(this.props.amount, requested),
    );
    return true;
  }

  /**
   * Cancels the authorization before capture. Returns false, changing nothing, when
   * already VOIDED or DECLINED (a declined payment holds nothing to cancel). A PENDING
   * payment cannot be voided yet: whether it holds anything is not known.
   */
  void(now: Date): boolean {
    const state = this.props.state;
    if (state === 'voided' || state === 'declined') return false;
    if (state === 'pending') {
      throw new PaymentOutcomeUnknownError(this.id, 'voided');
    }
    if (state !== 'authorized') {
      throw new IllegalPaymentTransitionError(
        this.id,
        state,
        'voided',
        'it was captured; refund it instead',
      );
    }
    this.change({state: 'voided'}, now, 'voided', voidEntry(this.props.amount));
    return true;
  }

  /**
   * Pays back `amount` (undefined: everything not yet refunded) of the captured amount.
   * A `refundId` this payment already used returns that refund unchanged when the
   * amount matches (or is left unset); with another amount it is ALREADY_EXISTS.
   */
  refund(
    req: {refundId: string; amount?: Money; reason: string},
    now: Date,
  ): RefundOutcome {
    if (req.amount) this.assertSameCurrency(req.amount);
    const earlier = this.props.refunds.find(r => r.refundId === req.refundId);
    if (earlier) {
      if (req.amount && !req.amount.equals(earlier.amount)) {
        throw new IdempotencyConflictError('refund_id', req.refundId);
      }
      return {refund: earlier, created: false};
    }
    const state = this.props.state;
    if (state === 'pending') {
      throw new PaymentOutcomeUnknownError(this.id, 'refunded');
    }
    if (state !== 'captured' && state !== 'partially_refunded') {
      throw new IllegalPaymentTransitionError(
        this.id,
        state,
        'refunded',
        state === 'authorized'
          ? 'nothing was captured; void it instead'
          : state === 'refunded'
            ? 'everything captured was refunded already'
            : 'only a captured payment can be refunded',
      );
    }
    const left = this.refundableAmount;
    const amount = req.amount ?? left;
    amount.assertChargeable('amount');
    if (amount.compare(left) > 0) {
      throw new AmountExceedsError(
        this.id,
        'refund',
        amount.format(),
        left.format(),
      );
    }
    const refund: Refund = {
      refundId: req.refundId,
      amount,
      reason: req.reason,
      createdAt: now,
    };
    const refunded = this.props.refundedAmount.plus(amount);
    this.change(
      {
        state:
          refunded.compare(this.props.capturedAmount) === 0
            ? 'refunded'
            : 'partially_refunded',
        refundedAmount: refunded,
        refunds: [...this.props.refunds, refund],
      },
      now,
      'refunded',
      refundEntry(amount, refund.refundId),
    );
    return {refund, created: true};
  }

  private change(
    patch: Partial<PaymentProps>,
    now: Date,
    event: PaymentEvent,
    entry?: LedgerEntry,
  ): void {
    this.props = {...this.props, ...patch, updatedAt: now};
    this.recorded.push(event);
    if (entry) this.entries.push(entry);
  }

  private assertSameCurrency(amount: Money): void {
    if (amount.currencyCode !== this.props.amount.currencyCode) {
      throw new PaymentCurrencyError(
        this.id,
        this.props.amount.currencyCode,
        amount.currencyCode,
      );
    }
  }
}
