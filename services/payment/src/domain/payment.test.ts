import {
  DomainError,
  IdempotencyConflictError,
} from '../../../common/errors/domain_error.js';
import {Money} from '../../../common/money/money.js';
import {
  AmountExceedsError,
  IllegalPaymentTransitionError,
  PaymentCurrencyError,
} from './errors.js';
import {Payment, type NewPayment} from './payment.js';

const T0 = new Date('2025-01-01T10:00:00Z');
const T1 = new Date('2025-01-01T10:05:00Z');
const T2 = new Date('2025-01-01T10:10:00Z');

const usd = (amount: string) => Money.parse(amount, 'USD');

function fresh(amount = '10.00', currency = 'USD'): NewPayment {
  return {
    id: '3f1c7f7e-6a4e-4d7e-9f57-0d8c1f3f2a01',
    orderId: 'order-1',
    amount: Money.parse(amount, currency),
    provider: 'sandbox',
    providerReference: 'sandbox_ref',
    requestFingerprint: 'print',
    now: T0,
  };
}

function authorized(amount = '10.00'): Payment {
  return Payment.authorized(fresh(amount));
}

function captured(amount = '10.00', capture = amount): Payment {
  const p = authorized(amount);
  p.capture(usd(capture), T1);
  return p;
}

/** The error `fn` throws (fails the test when it throws nothing). */
function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('Payment.authorized()', () => {
  it('starts AUTHORIZED with nothing captured or refunded and records the event', () => {
    const p = authorized();
    expect(p.state).toBe('authorized');
    expect(p.amount.toString()).toBe('10.00');
    expect(p.capturedAmount.toString()).toBe('0.00');
    expect(p.refundedAmount.toString()).toBe('0.00');
    expect(p.declineCode).toBe('');
    expect(p.createdAt).toBe(T0);
    expect(p.updatedAt).toBe(T0);
    expect(p.events).toEqual(['authorized']);
  });

  it('rejects an amount finer than the minor unit when it is 10.001 USD', () => {
    const err = errorOf(() => authorized('10.001'));
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).kind).toBe('invalid_argument');
  });

  it('rejects a zero amount when authorizing', () => {
    expect(() => authorized('0')).toThrow('must be greater than zero');
  });
});

describe('Payment.declined()', () => {
  it('is terminal: capture and refund are refused, void returns it unchanged', () => {
    const p = Payment.declined(fresh(), 'insufficient_funds');
    expect(p.state).toBe('declined');
    expect(p.declineCode).toBe('insufficient_funds');
    expect(p.events).toEqual(['declined']);

    expect(() => p.capture(undefined, T1)).toThrow(
      IllegalPaymentTransitionError,
    );
    expect(() =>
      p.refund({refundId: 'r1', amount: usd('1.00'), reason: ''}, T1),
    ).toThrow(IllegalPaymentTransitionError);
    expect(p.void(T1)).toBe(false);
    expect(p.state).toBe('declined');
    expect(p.updatedAt).toBe(T0);
    expect(p.events).toEqual(['declined']);
  });
});

describe('capture()', () => {
  it('captures the whole authorization when no amount is given', () => {
    const p = authorized('10.00');
    expect(p.capture(undefined, T1)).toBe(true);
    expect(p.state).toBe('captured');
    expect(p.capturedAmount.toString()).toBe('10.00');
    expect(p.updatedAt).toBe(T1);
    expect(p.events).toEqual(['authorized', 'captured']);
  });

  it('captures part of the authorization and keeps the authorized amount', () => {
    const p = authorized('10.00');
    expect(p.capture(usd('6.00'), T1)).toBe(true);
    expect(p.amount.toString()).toBe('10.00');
    expect(p.capturedAmount.toString()).toBe('6.00');
    // Only the captured amount can be refunded: the rest was released.
    expect(p.refundableAmount.toString()).toBe('6.00');
  });

  it('returns the payment unchanged when the same capture is repeated', () => {
    const p = captured('10.00', '6.00');
    expect(p.capture(usd('6'), T2)).toBe(false);
    expect(p.capturedAmount.toString()).toBe('6.00');
    expect(p.updatedAt).toBe(T1);
    expect(p.events).toEqual(['authorized', 'captured']);
  });

  it('treats an unset amount as a repeat when the whole amount was captured', () => {
    const p = captured('10.00');
    expect(p.capture(undefined, T2)).toBe(false);
  });

  it('returns the payment unchanged when the same capture is repeated after a refund', () => {
    const p = captured('10.00', '6.00');
    p.refund({refundId: 'r1', amount: usd('6.00'), reason: ''}, T2);
    expect(p.capture(usd('6.00'), T2)).toBe(false);
    expect(p.state).toBe('refunded');
  });

  it('rejects a second capture with another amount when already captured', () => {
    const p = captured('10.00', '6.00');
    const err = errorOf(() => p.capture(usd('4.00'), T2));
    expect(err).toBeInstanceOf(IllegalPaymentTransitionError);
    expect((err as Error).message).toContain(p.id);
    expect((err as Error).message).toContain('CAPTURED');
    expect(p.capturedAmount.toString()).toBe('6.00');
  });

  it('rejects an unset amount when a smaller amount was captured before', () => {
    const p = captured('10.00', '6.00');
    expect(() => p.capture(undefined, T2)).toThrow(
      IllegalPaymentTransitionError,
    );
  });

  it('rejects an amount over the authorization when capturing', () => {
    const p = authorized('10.00');
    const err = errorOf(() => p.capture(usd('10.01'), T1));
    expect(err).toBeInstanceOf(AmountExceedsError);
    expect((err as DomainError).kind).toBe('failed_precondition');
    expect(p.state).toBe('authorized');
  });

  it('rejects another currency when capturing', () => {
    const p = authorized('10.00');
    const err = errorOf(() => p.capture(Money.parse('5.00', 'EUR'), T1));
    expect(err).toBeInstanceOf(PaymentCurrencyError);
    expect((err as DomainError).kind).toBe('invalid_argument');
    expect((err as DomainError).details.field).toBe('amount.currency_code');
  });

  it('rejects capturing when the payment was voided', () => {
    const p = authorized();
    p.void(T1);
    const err = errorOf(() => p.capture(undefined, T2));
    expect(err).toBeInstanceOf(IllegalPaymentTransitionError);
    expect((err as Error).message).toBe(
      `payment ${p.id} is VOIDED and cannot be captured: only an AUTHORIZED payment can be captured`,
    );
  });
});

describe('void()', () => {
  it('voids an authorized payment', () => {
    const p = authorized();
    expect(p.void(T1)).toBe(true);
    expect(p.state).toBe('voided');
    expect(p.events).toEqual(['authorized', 'voided']);
  });

  it('is a no-op when the payment is already voided', () => {
    const p = authorized();
    p.void(T1);
    expect(p.void(T2)).toBe(false);
    expect(p.updatedAt).toBe(T1);
    expect(p.events).toEqual(['authorized', 'voided']);
  });

  it('rejects voiding when the payment was captured', () => {
    const p = captured();
    const err = errorOf(() => p.void(T2));
    expect(err).toBeInstanceOf(IllegalPaymentTransitionError);
    expect((err as DomainError).kind).toBe('failed_precondition');
    expect((err as Error).message).toContain('refund it instead');
    expect(p.state).toBe('captured');
  });
});

describe('refund()', () => {
  it('refunds in parts until the captured amount is used up', () => {
    const p = captured('10.00', '6.00');

    const first = p.refund(
      {refundId: 'r1', amount: usd('2.00'), reason: 'damaged'},
      T1,
    );
    expect(first.created).toBe(true);
    expect(p.state).toBe('partially_refunded');
    expect(p.refundedAmount.toString()).toBe('2.00');
    expect(p.refundableAmount.toString()).toBe('4.00');

    p.refund({refundId: 'r2', amount: usd('2.00'), reason: ''}, T2);
    expect(p.state).toBe('partially_refunded');
    expect(p.refundedAmount.toString()).toBe('4.00');

    const last = p.refund({refundId: 'r3', reason: 'rest'}, T2);
    expect(last.refund.amount.toString()).toBe('2.00');
    expect(p.state).toBe('refunded');
    expect(p.refundedAmount.toString()).toBe('6.00');
    expect(p.refundableAmount.isZero()).toBe(true);
    expect(p.refunds.map(r => r.refundId)).toEqual(['r1', 'r2', 'r3']);
    expect(p.events).toEqual([
      'authorized',
      'captured',
      'refunded',
      'refunded',
      'refunded',
    ]);
  });

  it('adds exactly: 0.10 + 0.20 refunded of 0.30 leaves nothing', () => {
    const p = captured('0.30');
    p.refund({refundId: 'r1', amount: usd('0.10'), reason: ''}, T1);
    p.refund({refundId: 'r2', amount: usd('0.20'), reason: ''}, T1);
    expect(p.state).toBe('refunded');
    expect(p.refundedAmount.toString()).toBe('0.30');
  });

  it('refunds everything left when no amount is given', () => {
    const p = captured('10.00', '6.00');
    const {refund} = p.refund({refundId: 'r1', reason: ''}, T1);
    expect(refund.amount.toString()).toBe('6.00');
    expect(p.state).toBe('refunded');
  });

  it('returns the earlier refund unchanged when the refund id is repeated', () => {
    const p = captured('10.00', '6.00');
    const first = p.refund(
      {refundId: 'r1', amount: usd('2.00'), reason: 'x'},
      T1,
    );
    const again = p.refund(
      {refundId: 'r1', amount: usd('2.00'), reason: 'x'},
      T2,
    );
    expect(again.created).toBe(false);
    expect(again.refund).toBe(first.refund);
    expect(p.refundedAmount.toString()).toBe('2.00');
    expect(p.refunds).toHaveLength(1);
    expect(p.updatedAt).toBe(T1);
  });

  it('returns the earlier refund when the id is repeated after the payment was fully refunded', () => {
    const p = captured('10.00', '6.00');
    p.refund({refundId: 'r1', reason: ''}, T1);
    const again = p.refund({refundId: 'r1', reason: ''}, T2);
    expect(again.created).toBe(false);
    expect(again.refund.amount.toString()).toBe('6.00');
  });

  it('rejects a repeated refund id with another amount as ALREADY_EXISTS', () => {
    const p = captured('10.00', '6.00');
    p.refund({refundId: 'r1', amount: usd('2.00'), reason: ''}, T1);
    const err = errorOf(() =>
      p.refund({refundId: 'r1', amount: usd('3.00'), reason: ''}, T2),
    );
    expect(err).toBeInstanceOf(IdempotencyConflictError);
    expect((err as DomainError).kind).toBe('already_exists');
    expect(p.refundedAmount.toString()).toBe('2.00');
  });

  it('rejects a refund over what is left when refunding', () => {
    const p = captured('10.00', '6.00');
    p.refund({refundId: 'r1', amount: usd('2.00'), reason: ''}, T1);
    const err = errorOf(() =>
      p.refund({refundId: 'r2', amount: usd('4.01'), reason: ''}, T2),
    );
    expect(err).toBeInstanceOf(AmountExceedsError);
    expect((err as Error).message).toContain('4.00 USD');
    expect(p.refundedAmount.toString()).toBe('2.00');
    expect(p.state).toBe('partially_refunded');
  });

  it('rejects a refund when nothing was captured', () => {
    const p = authorized();
    const err = errorOf(() =>
      p.refund({refundId: 'r1', amount: usd('1.00'), reason: ''}, T1),
    );
    expect(err).toBeInstanceOf(IllegalPaymentTransitionError);
    expect((err as Error).message).toContain('AUTHORIZED');
    expect((err as Error).message).toContain('void it instead');
  });

  it('rejects a new refund when the payment is fully refunded', () => {
    const p = captured();
    p.refund({refundId: 'r1', reason: ''}, T1);
    expect(() => p.refund({refundId: 'r2', reason: ''}, T2)).toThrow(
      IllegalPaymentTransitionError,
    );
  });

  it('rejects another currency when refunding', () => {
    const p = captured();
    expect(() =>
      p.refund(
        {refundId: 'r1', amount: Money.parse('1.00', 'EUR'), reason: ''},
        T1,
      ),
    ).toThrow(PaymentCurrencyError);
  });

  it('rejects a refund finer than the minor unit when it is 0.005 USD', () => {
    const p = captured();
    const err = errorOf(() =>
      p.refund({refundId: 'r1', amount: usd('0.005'), reason: ''}, T1),
    );
    expect((err as DomainError).kind).toBe('invalid_argument');
  });
});
