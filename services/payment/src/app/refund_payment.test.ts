import {
  DomainError,
  IdempotencyConflictError,
  UnavailableError,
} from '../../../common/errors/domain_error.js';
import {Money} from '../../../common/money/money.js';
import {InMemoryPaymentStore} from '../../test/in_memory_payment_store.js';
import {authorizedPayment} from '../../test/payment_fixtures.js';
import {
  mockPaymentProvider,
  type MockPaymentProvider,
} from '../../test/mock_payment_provider.js';
import {Payment} from '../domain/payment.js';
import {RefundPayment} from './refund_payment.js';

const NOW = new Date('2025-01-01T10:00:00Z');
const PAYMENT_ID = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c01';
const OTHER_PAYMENT_ID = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c02';
const R1 = 'aaaaaaaa-0000-4000-8000-000000000001';
const R2 = 'aaaaaaaa-0000-4000-8000-000000000002';
const usd = (amount: string) => Money.parse(amount, 'USD');

/** A payment of 10.00 USD with 6.00 captured. */
function capturedPayment(id = PAYMENT_ID): Payment {
  const p = authorizedPayment({
    id,
    now: NOW,
    providerReference: `auth_${id.slice(-2)}`,
  });
  p.capture(usd('6.00'), NOW);
  return p;
}

describe('RefundPayment', () => {
  let store: InMemoryPaymentStore;
  let provider: MockPaymentProvider;
  let refund: RefundPayment;

  beforeEach(() => {
    store = new InMemoryPaymentStore();
    store.seed(capturedPayment());
    provider = mockPaymentProvider();
    refund = new RefundPayment(store, provider, {now: () => NOW});
  });

  describe('execute()', () => {
    it('makes partial refunds with one provider call each', async () => {
      const first = await refund.execute({
        paymentId: PAYMENT_ID,
        refundId: R1,
        amount: usd('2.00'),
        reason: 'damaged',
      });
      const second = await refund.execute({
        paymentId: PAYMENT_ID,
        refundId: R2,
        amount: usd('2.00'),
        reason: '',
      });

      expect(first.payment.state).toBe('partially_refunded');
      expect(second.payment.refundedAmount.toString()).toBe('4.00');
      expect(second.payment.refunds.map(r => r.refundId)).toEqual([R1, R2]);
      expect(provider.refund.mock.calls.map(c => c[0].idempotencyKey)).toEqual([
        `${PAYMENT_ID}:refund:${R1}`,
        `${PAYMENT_ID}:refund:${R2}`,
      ]);
      expect(store.receipts).toEqual([
        {operation: 'refund', refundId: R1, reference: 'refund_1'},
        {operation: 'refund', refundId: R2, reference: 'refund_2'},
      ]);
      expect(store.committedEvents.map(e => e.event)).toEqual([
        'refunded',
        'refunded',
      ]);
    });

    it('returns the earlier refund without a provider call when the refund id is repeated', async () => {
      const cmd = {
        paymentId: PAYMENT_ID,
        refundId: R1,
        amount: usd('2.00'),
        reason: '',
      };
      const first = await refund.execute(cmd);
      const again = await refund.execute(cmd);

      expect(again.refund).toEqual(first.refund);
      expect(again.payment.refundedAmount.toString()).toBe('2.00');
      expect(provider.refund).toHaveBeenCalledTimes(1);
      expect(store.committedEvents).toHaveLength(1);
    });

    it('rejects a refund id used on another payment as ALREADY_EXISTS', async () => {
      store.seed(capturedPayment(OTHER_PAYMENT_ID));
      await refund.execute({
        paymentId: OTHER_PAYMENT_ID,
        refundId: R1,
        amount: usd('1.00'),
        reason: '',
      });

      const err = await refund
        .execute({
          paymentId: PAYMENT_ID,
          refundId: R1,
          amount: usd('1.00'),
          reason: '',
        })
        .catch((e: unknown) => e);

      expect(err).toBeInstanceOf(IdempotencyConflictError);
      expect(provider.refund).toHaveBeenCalledTimes(1);
      expect((await store.payment(PAYMENT_ID))?.refundedAmount.isZero()).toBe(
        true,
      );
    });

    it('rejects a refund over what is left without calling the provider', async () => {
      await refund.execute({
        paymentId: PAYMENT_ID,
        refundId: R1,
        amount: usd('5.00'),
        reason: '',
      });

      const err = await refund
        .execute({
          paymentId: PAYMENT_ID,
          refundId: R2,
          amount: usd('1.01'),
          reason: '',
        })
        .catch((e: unknown) => e);

      expect((err as DomainError).kind).toBe('failed_precondition');
      expect(provider.refund).toHaveBeenCalledTimes(1);
    });

    it('never refunds more than was captured when two refunds race', async () => {
      const results = await Promise.allSettled([
        refund.execute({
          paymentId: PAYMENT_ID,
          refundId: R1,
          amount: usd('4.00'),
          reason: '',
        }),
        refund.execute({
          paymentId: PAYMENT_ID,
          refundId: R2,
          amount: usd('4.00'),
          reason: '',
        }),
      ]);

      expect(results.map(r => r.status).sort()).toEqual([
        'fulfilled',
        'rejected',
      ]);
      expect(provider.refund).toHaveBeenCalledTimes(1);
      expect((await store.payment(PAYMENT_ID))?.refundedAmount.toString()).toBe(
        '4.00',
      );
    });

    it('keeps no refund and frees the refund id when the provider is down', async () => {
      provider.refund.mockRejectedValueOnce(new UnavailableError('down'));
      const cmd = {
        paymentId: PAYMENT_ID,
        refundId: R1,
        amount: usd('2.00'),
        reason: '',
      };

      await expect(refund.execute(cmd)).rejects.toThrow(UnavailableError);
      expect((await store.payment(PAYMENT_ID))?.refunds).toEqual([]);

      const retried = await refund.execute(cmd);
      expect(retried.payment.refundedAmount.toString()).toBe('2.00');
      // Same key both times: had the first call reached the provider, it would answer
      // with that refund instead of paying twice.
      expect(provider.refund.mock.calls[0][0].idempotencyKey).toBe(
        provider.refund.mock.calls[1][0].idempotencyKey,
      );
    });
  });
});
