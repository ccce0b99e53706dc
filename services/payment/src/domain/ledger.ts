/**
 * Payment's double-entry ledger: the posting rules. Every change of a payment's money
 * (authorize, capture, void, refund) is one ledger entry whose postings move money
 * between accounts and sum to zero in the payment's currency, so the books of one
 * payment, of one order and of the whole service always sum to zero too.
 *
 * The chart of accounts (balances are signed: money that went into an account is
 * positive):
 *
 *   customer_funds     the customers' payment methods; negative by what is held or charged
 *   authorized_holds   authorized and neither captured nor voided yet
 *   merchant_revenue   captured, net of refunds
 *
 *   authorize A              customer_funds −A   authorized_holds +A
 *   capture C of A           authorized_holds −A  merchant_revenue +C  customer_funds +(A−C)
 *   void of A                authorized_holds −A  customer_funds +A
 *   refund R                 merchant_revenue −R  customer_funds +R
 *
 * So for one payment: authorized_holds is what is still held, merchant_revenue is
 * captured minus refunded (what reconciliation compares with the paid order), and
 * customer_funds is minus the sum of both. A declined or PENDING payment posts nothing:
 * no money moved, or we do not know yet.
 */
import {Money} from '../../../common/money/money.js';
import {InternalInvariantError} from './errors.js';

export type LedgerAccount =
  'customer_funds' | 'authorized_holds' | 'merchant_revenue';

export const LEDGER_ACCOUNTS: readonly LedgerAccount[] = [
  'customer_funds',
  'authorized_holds',
  'merchant_revenue',
];

/** One line of an entry: `amount` (signed) into `account`. */
export interface Posting {
  readonly account: LedgerAccount;
  readonly amount: Money;
}

export type LedgerEntryKind = 'authorize' | 'capture' | 'void' | 'refund';

/** One ledger transaction: balanced postings for one change of one payment. */
export interface LedgerEntry {
  readonly kind: LedgerEntryKind;
  /** Set on refund entries: the refund they pay. */
  readonly refundId?: string;
  readonly postings: readonly Posting[];
}

/** An authorization of `amount`: the customer's funds are held. */
export function authorizeEntry(amount: Money): LedgerEntry {
  return balanced('authorize', [
    {account: 'customer_funds', amount: negate(amount)},
    {account: 'authorized_holds', amount},
  ]);
}

/**
 * A capture of `captured` out of `authorized`: the whole hold ends, the captured part
 * becomes revenue and the rest goes back to the customer (there is no second capture).
 * The release posting is left out when nothing is released, so no line is zero.
 */
export function captureEntry(authorized: Money, captured: Money): LedgerEntry {
  const released = authorized.minus(captured);
  return balanced('capture', [
    {account: 'authorized_holds', amount: negate(authorized)},
    {account: 'merchant_revenue', amount: captured},
    ...(released.isZero()
      ? []
      : [{account: 'customer_funds' as const, amount: released}]),
  ]);
}

/** A void of an authorization of `authorized`: the hold goes back to the customer. */
export function voidEntry(authorized: Money): LedgerEntry {
  return balanced('void', [
    {account: 'authorized_holds', amount: negate(authorized)},
    {account: 'customer_funds', amount: authorized},
  ]);
}

/** A refund of `amount`: revenue paid back to the customer. */
export function refundEntry(amount: Money, refundId: string): LedgerEntry {
  return balanced(
    'refund',
    [
      {account: 'merchant_revenue', amount: negate(amount)},
      {account: 'customer_funds', amount},
    ],
    refundId,
  );
}

function negate(m: Money): Money {
  return Money.zero(m.currencyCode).minus(m);
}

/** The sum of the postings (zero for every entry these rules make). */
export function entryTotal(entry: LedgerEntry): Money {
  const [first, ...rest] = entry.postings;
  return rest.reduce((sum, p) => sum.plus(p.amount), first.amount);
}

/**
 * Builds an entry and refuses one that does not balance or has a zero line. The rules
 * above cannot make one; the check is here so that a wrong new rule fails in its unit
 * test, long before the database's own balance trigger would refuse the commit.
 */
function balanced(
  kind: LedgerEntryKind,
  postings: Posting[],
  refundId?: string,
): LedgerEntry {
  const entry: LedgerEntry = refundId
    ? {kind, refundId, postings}
    : {kind, postings};
  if (postings.length < 2 || postings.some(p => p.amount.isZero())) {
    throw new InternalInvariantError(
      `ledger entry ${kind} needs two or more non-zero postings`,
    );
  }
  if (!entryTotal(entry).isZero()) {
    throw new InternalInvariantError(`ledger entry ${kind} does not balance`);
  }
  return entry;
}
