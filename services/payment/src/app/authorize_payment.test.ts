import {jest} from '@jest/globals';
import {
  DomainError,
  IdempotencyConflictError,
  UnavailableError,
} from '../../../common/errors/domain_error.js';
import {Money} from '../../../common/money/money.js';
import {InMemoryPaymentStore} from '../../test/in_memory_payment_store.js';
import {
  mockPaymentProvider,
  type MockPaymentProvider,
} from '../../test/mock_payment_provider.js';
import {
  AuthorizePayment,
  type AuthorizePaymentCommand,
} from './authorize_payment.js';

const NOW = new Date('2025-01-01T10:00:00Z');
const PAYMENT_ID = '0b7d3c1e-2a44-4d1f-8a0e-5f6f8e1d9c01';

function command(
  overrides: Partial<AuthorizePaymentCommand> = {},
): AuthorizePaymentCommand {
  return {
    paymentId: PAYMENT_ID,
    orderId: 'order-1',
    amount: Money.parse('10.00', 'USD'),
    paymentToken: 'tok_visa',
    ...overrides,
  };
}

describe('AuthorizePayment', () => {
  let store: InMemoryPaymentStore;
  let provider: MockPaymentProvider;
  let authorize: AuthorizePayment;

  beforeEach(() => {
    store = new InMemoryPaymentStore();
    provider = mockPaymentProvider();
    authorize = new AuthorizePayment(store, provider, {now: () => NOW});
  });

  describe('execute()', () => {
    it('stores an AUTHORIZED payment and its event when the provider approves', async () => {
      const payment = await authorize.execute(command());

      expect(payment.state).toBe('authorized');
      expect(payment.providerReference).toBe('auth_1');
      expect(payment.provider).toBe('mock');
      expect(payment.createdAt).toEqual(NOW);
      expect(provider.authorize).toHaveBeenCalledTimes(1);
      const call = provider.authorize.mock.calls[0][0];
      expect(call.idempotencyKey).toBe(`${PAYMENT_ID}:authorize`);
      expect(call.paymentToken).toBe('tok_visa');
      expect(call.amount.format()).toBe('10.00 USD');
      expect((await store.payment(PAYMENT_ID))?.state).toBe('authorized');
      expect(store.committedEvents).toEqual([
        {paymentId: PAYMENT_ID, event: 'authorized', state: 'authorized'},
      ]);
    });

    it('authorizes and captures in one step when asked to (a sale)', async () => {
      const payment = await authorize.execute(command({capture: true}));

      expect(payment.state).toBe('captured');
      expect(payment.capturedAmount.format()).toBe('10.00 USD');
      expect(provider.capture).toHaveBeenCalledTimes(1);
      expect(provider.capture.mock.calls[0][0].idempotencyKey).toBe(
        `${PAYMENT_ID}:capture`,
      );
      expect((await store.payment(PAYMENT_ID))?.state).toBe('captured');
      expect(store.committedEvents.map(e => e.event)).toEqual([
        'authorized',
        'captured',
      ]);
    });

    it('does not capture a declined sale', async () => {
      provider.authorize.mockResolvedValueOnce({
        approved: false,
        reference: 'auth_declined',
        declineCode: 'card_declined',
      });

      const payment = await authorize.execute(command({capture: true}));

      expect(payment.state).toBe('declined');
      expect(provider.capture).not.toHaveBeenCalled();
    });

    it('returns a DECLINED payment, not an error, when the provider declines', async () => {
      provider.authorize.mockResolvedValueOnce({
        approved: false,
        reference: 'auth_declined',
        declineCode: 'insufficient_funds',
      });

      const payment = await authorize.execute(command());

      expect(payment.state).toBe('declined');
      expect(payment.declineCode).toBe('insufficient_funds');
      expect((await store.payment(PAYMENT_ID))?.declineCode).toBe(
        'insufficient_funds',
      );
      expect(store.committedEvents.map(e => e.event)).toEqual(['declined']);
    });

    it('calls the provider once when the same authorization is repeated', async () => {
      const first = await authorize.execute(command());
      const again = await authorize.execute(command());

      expect(provider.authorize).toHaveBeenCalledTimes(1);
      expect(again.providerReference).toBe(first.providerReference);
      expect(again.state).toBe('authorized');
      expect(store.committedEvents).toHaveLength(1);
    });

    it('returns the stored decline without asking again when a declined authorization is repeated', async () => {
      provider.authorize.mockResolvedValueOnce({
        approved: false,
        reference: 'auth_declined',
        declineCode: 'card_declined',
      });
      await authorize.execute(command());

      const again = await authorize.execute(command());

      expect(provider.authorize).toHaveBeenCalledTimes(1);
      expect(again.state).toBe('declined');
      expect(again.declineCode).toBe('card_declined');
    });

    it('rejects a reused payment id as ALREADY_EXISTS when the amount differs', async () => {
      await authorize.execute(command());

      const err = await authorize
        .execute(command({amount: Money.parse('10.01', 'USD')}))
        .catch((e: unknown) => e);

      expect(err).toBeInstanceOf(IdempotencyConflictError);
      expect((err as DomainError).kind).toBe('already_exists');
      expect((err as DomainError).details).toEqual({payment_id: PAYMENT_ID});
      expect(provider.authorize).toHaveBeenCalledTimes(1);
    });

    it('rejects a reused payment id when the token or the order differs', async () => {
      await authorize.execute(command());

      await expect(
        authorize.execute(command({paymentToken: 'tok_mastercard'})),
      ).rejects.toThrow(IdempotencyConflictError);
      await expect(
        authorize.execute(command({orderId: 'order-2'})),
      ).rejects.toThrow(IdempotencyConflictError);
      expect(provider.authorize).toHaveBeenCalledTimes(1);
    });

    it('rejects a reused payment id when the currency differs but the digits match', async () => {
      await authorize.execute(command());
      await expect(
        authorize.execute(command({amount: Money.parse('10.00', 'EUR')})),
      ).rejects.toThrow(IdempotencyConflictError);
    });

    it('accepts "10" as a repeat of "10.00"', async () => {
      await authorize.execute(command());
      const again = await authorize.execute(
        command({amount: Money.parse('10', 'USD')}),
      );
      expect(again.state).toBe('authorized');
      expect(provider.authorize).toHaveBeenCalledTimes(1);
    });

    it('keeps the payment PENDING, with no event or ledger entry, and throws UNAVAILABLE when the provider is down', async () => {
      provider.authorize.mockRejectedValueOnce(
        new UnavailableError('provider down'),
      );

      const err = await authorize.execute(command()).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as DomainError).kind).toBe('unavailable');
      expect((await store.payment(PAYMENT_ID))?.state).toBe('pending');
      expect(store.committedEvents).toEqual([]);
      expect(store.ledger).toEqual([]);
    });

    it('authorizes on the retry after an outage ended', async () => {
      provider.authorize.mockRejectedValueOnce(
        new UnavailableError('provider down'),
      );
      await expect(authorize.execute(command())).rejects.toThrow(
        UnavailableError,
      );

      const payment = await authorize.execute(command());

      expect(payment.state).toBe('authorized');
      expect(provider.authorize).toHaveBeenCalledTimes(2);
    });

    it('never stores the payment token', async () => {
      const token = 'tok_secret_card_4242';
      await authorize.execute(command({paymentToken: token}));

      const stored = (await store.payment(PAYMENT_ID))!;
      const everything = JSON.stringify(stored.snapshot());
      expect(everything).not.toContain(token);
      expect(stored.requestFingerprint).toMatch(/^[0-9a-f]{64}$/);
    });

    it('stores one payment when two first attempts race', async () => {
      const [a, b] = await Promise.all([
        authorize.execute(command()),
        authorize.execute(command()),
      ]);

      // Both asked the provider (same idempotency key, so a real provider holds once);
      // one insert won and both callers get the stored payment.
      expect(provider.authorize).toHaveBeenCalledTimes(2);
      expect(provider.authorize.mock.calls[0][0].idempotencyKey).toBe(
        provider.authorize.mock.calls[1][0].idempotencyKey,
      );
      expect(a.providerReference).toBe(b.providerReference);
      expect(store.committedEvents).toHaveLength(1);
    });

    it('writes nothing and asks no provider when the caller has gone before the payment is written', async () => {
      const err = await authorize
        .execute(command({capture: true, callerGone: () => true}))
        .catch((e: unknown) => e);

      expect((err as DomainError).kind).toBe('unavailable');
      expect(await store.find(PAYMENT_ID)).toBeUndefined();
      expect(provider.authorize).not.toHaveBeenCalled();
    });

    it('finishes and records the sale when the caller leaves after the PENDING row is written', async () => {
      let rowWritten = false;
      const insert = store.insertPending.bind(store);
      jest.spyOn(store, 'insertPending').mockImplementation(async payment => {
        const inserted = await insert(payment);
        rowWritten = true;
        return inserted;
      });

      const payment = await authorize.execute(
        command({capture: true, callerGone: () => rowWritten}),
      );

      // Stopping here would leave the row PENDING ("outcome unknown") until the
      // resolver's cut-off, and the saga's recovery waiting on it.
      expect(payment.state).toBe('captured');
      expect((await store.payment(PAYMENT_ID))?.state).toBe('captured');
      expect(provider.authorize).toHaveBeenCalledTimes(1);
      expect(provider.capture).toHaveBeenCalledTimes(1);
    });

    it('rejects an amount finer than the minor unit when it is 10.001 USD', async () => {
      const err = await authorize
        .execute(command({amount: Money.parse('10.001', 'USD')}))
        .catch((e: unknown) => e);
      expect((err as DomainError).kind).toBe('invalid_argument');
      expect(provider.authorize).not.toHaveBeenCalled();
    });
  });
});
