/**
 * What a saga's recovery learns when it asks about a payment whose authorization is
 * still in flight (PENDING, within the cut-off): VoidPayment and GetPayment wait
 * briefly for its answer instead of answering "unknown" at once, and never close as
 * "nothing charged" a payment the provider might still charge.
 */
import type {DomainError} from '../../../common/errors/domain_error.js';
import {Money} from '../../../common/money/money.js';
import {InMemoryPaymentStore} from '../../test/in_memory_payment_store.js';
import {
  mockPaymentProvider,
  type MockPaymentProvider,
} from '../../test/mock_payment_provider.js';
import {Payment} from '../domain/payment.js';
import {AuthorizePayment} from './authorize_payment.js';
import {ReadPayments} from './read_payments.js';
import {ResolvePendingPayments} from './resolve_pending_payments.js';
import {VoidPayment} from './void_payment.js';

const NOW = new Date('2025-01-01T10:00:00Z');
const PAYMENT_ID = '3f0c2b9a-6e1d-4c5b-9a8f-7e6d5c4b3a21';
const CUTOFF_MS = 30_000;

function pendingPayment(createdAt: Date): Payment {
  return Payment.pending({
    id: PAYMENT_ID,
    orderId: 'order-1',
    amount: Money.parse('10.00', 'USD'),
    provider: 'mock',
    requestFingerprint: 'print',
    now: createdAt,
  });
}

describe('a lookup of a payment whose authorization is in flight', () => {
  let store: InMemoryPaymentStore;
  let provider: MockPaymentProvider;
  let pending: ResolvePendingPayments;
  const clock = {now: () => NOW};

  beforeEach(() => {
    store = new InMemoryPaymentStore();
    // The provider takes 150 ms, so the PENDING row is what a lookup meets first.
    provider = mockPaymentProvider({delayMs: 150});
    pending = new ResolvePendingPayments(store, provider, clock, CUTOFF_MS);
  });

  function saleInFlight(): Promise<Payment> {
    return new AuthorizePayment(store, provider, clock).execute({
      paymentId: PAYMENT_ID,
      orderId: 'order-1',
      amount: Money.parse('10.00', 'USD'),
      paymentToken: 'tok_visa',
      capture: true,
    });
  }

  async function rowIsPending(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if ((await store.payment(PAYMENT_ID))?.state === 'pending') return;
      await new Promise(r => setTimeout(r, 5));
    }
    throw new Error('the authorization never wrote its PENDING row');
  }

  describe('VoidPayment', () => {
    it('waits for the sale in flight and answers CAPTURED (a refund is due) instead of "unknown"', async () => {
      const sale = saleInFlight();
      await rowIsPending();

      const err = await new VoidPayment(store, provider, clock, pending, 1_000)
        .execute(PAYMENT_ID)
        .catch((e: unknown) => e);

      expect((err as DomainError).kind).toBe('failed_precondition');
      expect((err as Error).message).toContain('CAPTURED');
      expect((await sale).state).toBe('captured');
    });

    it('answers ABORTED (outcome unknown) after the wait and asks the provider nothing when the row stays PENDING', async () => {
      store.seed(pendingPayment(NOW));

      const err = await new VoidPayment(store, provider, clock, pending, 100)
        .execute(PAYMENT_ID)
        .catch((e: unknown) => e);

      expect((err as DomainError).kind).toBe('aborted');
      expect(provider.lookup).not.toHaveBeenCalled();
      expect(provider.void).not.toHaveBeenCalled();
      expect((await store.payment(PAYMENT_ID))?.state).toBe('pending');
    });

    it('resolves a PENDING payment past the cut-off at once, without waiting', async () => {
      store.seed(pendingPayment(new Date(NOW.getTime() - CUTOFF_MS)));
      const started = Date.now();

      const voided = await new VoidPayment(
        store,
        provider,
        clock,
        pending,
        5_000,
      ).execute(PAYMENT_ID);

      // The provider never received the key: nothing was held, so it is declined.
      expect(voided.state).toBe('declined');
      expect(provider.lookup).toHaveBeenCalled();
      expect(Date.now() - started).toBeLessThan(1_000);
    });
  });

  describe('ReadPayments.payment()', () => {
    it('waits for the sale in flight and returns it CAPTURED', async () => {
      const sale = saleInFlight();
      await rowIsPending();

      const read = await new ReadPayments(store, pending, 1_000).payment(
        PAYMENT_ID,
      );

      expect(read).toBeInstanceOf(Payment);
      expect((read as Payment).state).toBe('captured');
      await sale;
    });

    it('returns the payment still PENDING once the wait is over', async () => {
      store.seed(pendingPayment(NOW));

      const read = await new ReadPayments(store, pending, 100).payment(
        PAYMENT_ID,
      );

      expect((read as Payment).state).toBe('pending');
      expect(provider.lookup).not.toHaveBeenCalled();
    });
  });
});
