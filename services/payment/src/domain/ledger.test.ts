import {Money} from '../../../common/money/money.js';
import {
  authorizeEntry,
  captureEntry,
  entryTotal,
  refundEntry,
  voidEntry,
  type LedgerAccount,
  type LedgerEntry,
} from './ledger.js';
import {Payment} from './payment.js';

const usd = (amount: string) => Money.parse(amount, 'USD');
const T0 = new Date('2025-01-01T10:00:00Z');

/** Balance per account over `entries`, as strings. */
function balances(entries: readonly LedgerEntry[]): Record<string, string> {
  const sums = new Map<LedgerAccount, Money>();
  for (const e of entries) {
    for (const p of e.postings) {
      const sum = sums.get(p.account);
      sums.set(p.account, sum ? sum.plus(p.amount) : p.amount);
    }
  }
  return Object.fromEntries([...sums].map(([a, m]) => [a, m.toString()]));
}

function lines(entry: LedgerEntry): Record<string, string> {
  return Object.fromEntries(
    entry.postings.map(p => [p.account, p.amount.toString()]),
  );
}

describe('ledger posting rules', () => {
  it('holds the customer funds on authorize', () => {
    const e = authorizeEntry(usd('10.00'));
    expect(lines(e)).toEqual({
      customer_funds: '-10.00',
      authorized_holds: '10.00',
    });
    expect(entryTotal(e).isZero()).toBe(true);
  });

  it('ends the whole hold on a partial capture and gives the rest back', () => {
    const e = captureEntry(usd('10.00'), usd('6.00'));
    expect(lines(e)).toEqual({
      authorized_holds: '-10.00',
      merchant_revenue: '6.00',
      customer_funds: '4.00',
    });
    expect(entryTotal(e).isZero()).toBe(true);
  });

  it('posts no zero line when the whole authorization is captured', () => {
    const e = captureEntry(usd('10.00'), usd('10.00'));
    expect(e.postings).toHaveLength(2);
    expect(lines(e)).toEqual({
      authorized_holds: '-10.00',
      merchant_revenue: '10.00',
    });
  });

  it('gives the hold back on void and revenue back on refund', () => {
    expect(lines(voidEntry(usd('10.00')))).toEqual({
      authorized_holds: '-10.00',
      customer_funds: '10.00',
    });
    const r = refundEntry(usd('2.50'), 'r1');
    expect(r.refundId).toBe('r1');
    expect(lines(r)).toEqual({
      merchant_revenue: '-2.50',
      customer_funds: '2.50',
    });
  });

  it('refuses an entry with a zero line, which would make an empty authorization', () => {
    expect(() => authorizeEntry(Money.zero('USD'))).toThrow(
      'needs two or more non-zero postings',
    );
  });
});

describe('Payment ledger entries', () => {
  const fresh = {
    id: '3f1c7f7e-6a4e-4d7e-9f57-0d8c1f3f2a01',
    orderId: 'order-1',
    amount: usd('10.00'),
    provider: 'sandbox',
    requestFingerprint: 'print',
    now: T0,
  };

  it('posts nothing while PENDING or when declined: no money is known to have moved', () => {
    const p = Payment.pending(fresh);
    expect(p.ledgerEntries).toEqual([]);
    p.settle(
      {approved: false, reference: 'x', declineCode: 'card_declined'},
      T0,
    );
    expect(p.state).toBe('declined');
    expect(p.ledgerEntries).toEqual([]);
  });

  it('leaves merchant_revenue equal to captured minus refunded and every balance summing to zero', () => {
    const p = Payment.pending(fresh);
    p.settle({approved: true, reference: 'auth'}, T0);
    p.capture(usd('8.00'), T0);
    p.refund({refundId: 'r1', amount: usd('3.00'), reason: ''}, T0);
    p.refund({refundId: 'r2', amount: usd('0.01'), reason: ''}, T0);

    expect(p.ledgerEntries.map(e => e.kind)).toEqual([
      'authorize',
      'capture',
      'refund',
      'refund',
    ]);
    expect(balances(p.ledgerEntries)).toEqual({
      customer_funds: '-4.99',
      authorized_holds: '0.00',
      merchant_revenue: '4.99',
    });
    expect(p.capturedAmount.minus(p.refundedAmount).toString()).toBe('4.99');
    for (const e of p.ledgerEntries) expect(entryTotal(e).isZero()).toBe(true);
  });

  it('gives everything back when an authorization is voided', () => {
    const p = Payment.pending(fresh);
    p.settle({approved: true, reference: 'auth'}, T0);
    p.void(T0);
    expect(balances(p.ledgerEntries)).toEqual({
      customer_funds: '0.00',
      authorized_holds: '0.00',
    });
  });

  it('posts nothing for a repeated capture, void or refund', () => {
    const p = Payment.pending(fresh);
    p.settle({approved: true, reference: 'auth'}, T0);
    p.capture(undefined, T0);
    p.refund({refundId: 'r1', amount: usd('1.00'), reason: ''}, T0);
    const before = p.ledgerEntries.length;
    p.capture(undefined, T0);
    p.refund({refundId: 'r1', amount: usd('1.00'), reason: ''}, T0);
    expect(p.settle({approved: true, reference: 'auth'}, T0)).toBe(false);
    expect(p.ledgerEntries).toHaveLength(before);
  });
});

describe('a PENDING payment', () => {
  it('refuses void, capture and refund as ABORTED PAYMENT_OUTCOME_UNKNOWN while its outcome is unknown', () => {
    const p = Payment.pending({
      id: 'p1',
      orderId: 'o1',
      amount: usd('1.00'),
      provider: 'sandbox',
      requestFingerprint: 'x',
      now: T0,
    });
    for (const op of [
      () => p.void(T0),
      () => p.capture(undefined, T0),
      () => p.refund({refundId: 'r', reason: ''}, T0),
    ]) {
      expect(op).toThrow(
        expect.objectContaining({
          kind: 'aborted',
          reason: 'PAYMENT_OUTCOME_UNKNOWN',
        }),
      );
    }
    expect(p.state).toBe('pending');
  });
});
