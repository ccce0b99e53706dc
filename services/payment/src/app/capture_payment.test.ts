import {
  DomainError,
  FailedPreconditionError,
  UnavailableError,
} from '../../../common/errors/domain_error.js';
import {Money} from '../../../common/money/money.js';
import {InMemoryPaymentStore} from '../../test/in_memory_payment_store.js';
import {authorizedPayment} from '../../test/payment_fixtures.js';
import {
  mockPaymentProvider,
  type MockPaymentProvider,
} from '../../test/mock_payment_provider.js';
import {UnknownPaymentError} from '../domain/errors.js';
import {Payment} from '../domain/payment.js';
import {CapturePayment} from './capture_payment.js';
import {ResolvePendingPayments} from './resolve_pending_payments.js';
import {VoidPayment} from './void_payment.js';

const NOW = new Date('2025-01-01T10:00:00Z');
const PAYMENT_ID = '6c1f0a52-9d0e-4a7c-bf3e-1d2c3b4a5e01';
const usd = (amount: string) => Money.parse(amount, 'USD');

describe('CapturePayment', () => {
  let store: InMemoryPaymentStore;
  let provider: MockPaymentProvider;
  let capture: CapturePayment;

  beforeEach(() => {
    store = new InMemoryPaymentStore();
    store.seed(authorizedPayment({id: PAYMENT_ID, now: NOW}));
    provider = mockPaymentProvider();
    capture = new CapturePayment(store, provider, {now: () => NOW});
  });

  describe('execute()', () => {
    it('charges part of the authorization once and records the receipt and event', async () => {
      const payment = await capture.execute({
        paymentId: PAYMENT_ID,
        amount: usd('6.00'),
      });

      expect(payment.state).toBe('captured');
      expect(payment.capturedAmount.toString()).toBe('6.00');
      expect(provider.capture).toHaveBeenCalledTimes(1);
      const call = provider.capture.mock.calls[0][0];
      expect(call.idempotencyKey).toBe(`${PAYMENT_ID}:capture`);
      expect(call.authorizationReference).toBe('auth_0');
      expect(call.amount.format()).toBe('6.00 USD');
      expect(store.receipts).toEqual([
        {operation: 'capture', reference: 'capture_1'},
      ]);
      expect(store.committedEvents).toEqual([
        {paymentId: PAYMENT_ID, event: 'captured', state: 'captured'},
      ]);
    });

    it('captures the whole authorization when no amount is given', async () => {
      const payment = await capture.execute({paymentId: PAYMENT_ID});
      expect(payment.capturedAmount.toString()).toBe('10.00');
      expect(provider.capture.mock.calls[0][0].amount.toString()).toBe('10.00');
    });

    it('does not call the provider again when the same capture is repeated', async () => {
      await capture.execute({paymentId: PAYMENT_ID, amount: usd('6.00')});
      const again = await capture.execute({
        paymentId: PAYMENT_ID,
        amount: usd('6.00'),
      });

      expect(again.capturedAmount.toString()).toBe('6.00');
      expect(provider.capture).toHaveBeenCalledTimes(1);
      expect(store.committedEvents).toHaveLength(1);
    });

    it('charges once when two captures of one payment race', async () => {
      const results = await Promise.all([
        capture.execute({paymentId: PAYMENT_ID, amount: usd('6.00')}),
        capture.execute({paymentId: PAYMENT_ID, amount: usd('6.00')}),
      ]);

      expect(results.map(p => p.state)).toEqual(['captured', 'captured']);
      expect(provider.capture).toHaveBeenCalledTimes(1);
      expect(store.committedEvents).toHaveLength(1);
    });

    it('rejects the second of two racing captures when their amounts differ', async () => {
      const results = await Promise.allSettled([
        capture.execute({paymentId: PAYMENT_ID, amount: usd('6.00')}),
        capture.execute({paymentId: PAYMENT_ID, amount: usd('7.00')}),
      ]);

      expect(results[0].status).toBe('fulfilled');
      expect(results[1].status).toBe('rejected');
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(
        FailedPreconditionError,
      );
      expect(provider.capture).toHaveBeenCalledTimes(1);
      expect((await store.payment(PAYMENT_ID))?.capturedAmount.toString()).toBe(
        '6.00',
      );
    });

    it('leaves the payment AUTHORIZED when the provider is down', async () => {
      provider.capture.mockRejectedValueOnce(new UnavailableError('down'));

      await expect(
        capture.execute({paymentId: PAYMENT_ID, amount: usd('6.00')}),
      ).rejects.toThrow(UnavailableError);

      expect((await store.payment(PAYMENT_ID))?.state).toBe('authorized');
      expect(store.committedEvents).toEqual([]);
    });

    it('rejects an amount over the authorization without calling the provider', async () => {
      const err = await capture
        .execute({paymentId: PAYMENT_ID, amount: usd('10.01')})
        .catch((e: unknown) => e);
      expect((err as DomainError).kind).toBe('failed_precondition');
      expect(provider.capture).not.toHaveBeenCalled();
    });

    it('rejects a payment id that does not exist as NOT_FOUND', async () => {
      await expect(
        capture.execute({paymentId: '6c1f0a52-9d0e-4a7c-bf3e-1d2c3b4a5e99'}),
      ).rejects.toThrow(UnknownPaymentError);
    });
  });
});

describe('VoidPayment', () => {
  let store: InMemoryPaymentStore;
  let provider: MockPaymentProvider;
  let voidPayment: VoidPayment;

  beforeEach(() => {
    store = new InMemoryPaymentStore();
    provider = mockPaymentProvider();
    const clock = {now: () => NOW};
    voidPayment = new VoidPayment(
      store,
      provider,
      clock,
      new ResolvePendingPayments(store, provider, clock, 30_000),
    );
  });

  describe('execute()', () => {
    it('voids once and does nothing when repeated', async () => {
      store.seed(authorizedPayment({id: PAYMENT_ID, now: NOW}));

      const first = await voidPayment.execute(PAYMENT_ID);
      const again = await voidPayment.execute(PAYMENT_ID);

      expect(first.state).toBe('voided');
      expect(again.state).toBe('voided');
      expect(provider.void).toHaveBeenCalledTimes(1);
      expect(provider.void.mock.calls[0][0].idempotencyKey).toBe(
        `${PAYMENT_ID}:void`,
      );
      expect(store.committedEvents.map(e => e.event)).toEqual(['voided']);
    });

    it('returns a DECLINED payment unchanged without calling the provider', async () => {
      store.seed(
        Payment.declined(
          {
            id: PAYMENT_ID,
            orderId: 'order-1',
            amount: usd('10.00'),
            provider: 'mock',
            providerReference: 'auth_0',
            requestFingerprint: 'print',
            now: NOW,
          },
          'card_declined',
        ),
      );

      const payment = await voidPayment.execute(PAYMENT_ID);

      expect(payment.state).toBe('declined');
      expect(provider.void).not.toHaveBeenCalled();
      expect(store.committedEvents).toEqual([]);
    });

    it('rejects voiding when the payment was captured', async () => {
      store.seed(authorizedPayment({id: PAYMENT_ID, now: NOW}));
      await new CapturePayment(store, provider, {now: () => NOW}).execute({
        paymentId: PAYMENT_ID,
      });

      const err = await voidPayment
        .execute(PAYMENT_ID)
        .catch((e: unknown) => e);

      expect((err as DomainError).kind).toBe('failed_precondition');
      expect((err as Error).message).toContain('CAPTURED');
      expect(provider.void).not.toHaveBeenCalled();
    });
  });
});
