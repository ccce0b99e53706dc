import {readDeploymentEnv} from '../../../common/auth/auth_config.js';
import {ConfigError, EnvReader} from '../../../common/config/env.js';
import {
  DomainError,
  IdempotencyConflictError,
  UnavailableError,
} from '../../../common/errors/domain_error.js';
import {Money} from '../../../common/money/money.js';
import {
  SANDBOX_TEST_TOKENS,
  SandboxPaymentProvider,
  createSandboxPaymentProvider,
} from './sandbox_payment_provider.js';

const usd = (amount: string) => Money.parse(amount, 'USD');

describe('SandboxPaymentProvider', () => {
  let sandbox: SandboxPaymentProvider;
  let n = 0;
  const key = () => `key-${++n}`;

  beforeEach(() => {
    sandbox = new SandboxPaymentProvider();
  });

  describe('authorize()', () => {
    it.each([
      ['tok_visa', undefined],
      ['tok_mastercard', undefined],
      ['tok_amex_anything', undefined],
      ['tok_decline', 'card_declined'],
      ['tok_insufficient_funds', 'insufficient_funds'],
      ['tok_expired_card', 'expired_card'],
      ['pm_card_visa', 'invalid_token'],
      ['', 'invalid_token'],
    ])('answers %p with decline code %p', async (token, declineCode) => {
      const result = await sandbox.authorize({
        idempotencyKey: key(),
        amount: usd('10.00'),
        paymentToken: token,
      });
      expect(result.reference).toMatch(/^sandbox_[0-9a-f-]{36}$/);
      if (declineCode) {
        expect(result).toMatchObject({approved: false, declineCode});
      } else {
        expect(result.approved).toBe(true);
      }
    });

    it('declines with amount_too_large when the amount is above 1,000,000.00 in any currency', async () => {
      for (const [amount, currency, approved] of [
        ['1000000.00', 'USD', true],
        ['1000000.01', 'USD', false],
        ['1000001', 'JPY', false],
      ] as const) {
        const result = await sandbox.authorize({
          idempotencyKey: key(),
          amount: Money.parse(amount, currency),
          paymentToken: 'tok_visa',
        });
        expect(result.approved).toBe(approved);
        if (!result.approved)
          expect(result.declineCode).toBe('amount_too_large');
      }
    });

    it('rejects with UNAVAILABLE when the token simulates an outage', async () => {
      const err = await sandbox
        .authorize({
          idempotencyKey: key(),
          amount: usd('10.00'),
          paymentToken: 'tok_provider_unavailable',
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as DomainError).kind).toBe('unavailable');
    });

    it('answers a repeated idempotency key with the first answer', async () => {
      const req = {
        idempotencyKey: key(),
        amount: usd('10.00'),
        paymentToken: 'tok_visa',
      };
      const first = await sandbox.authorize(req);
      const again = await sandbox.authorize(req);
      expect(again).toEqual(first);
    });

    it('rejects a repeated idempotency key when the request differs', async () => {
      const idempotencyKey = key();
      await sandbox.authorize({
        idempotencyKey,
        amount: usd('10.00'),
        paymentToken: 'tok_visa',
      });
      await expect(
        sandbox.authorize({
          idempotencyKey,
          amount: usd('11.00'),
          paymentToken: 'tok_visa',
        }),
      ).rejects.toThrow(IdempotencyConflictError);
    });
  });

  describe('capture()', () => {
    it('charges once per idempotency key', async () => {
      const req = {
        idempotencyKey: key(),
        authorizationReference: 'sandbox_a',
        amount: usd('6.00'),
      };
      const first = await sandbox.capture(req);
      expect(await sandbox.capture(req)).toEqual(first);
      await expect(
        sandbox.capture({...req, amount: usd('7.00')}),
      ).rejects.toThrow(IdempotencyConflictError);
    });
  });

  describe('SANDBOX_TEST_TOKENS', () => {
    it('documents every special token with a decline code when it declines', () => {
      expect(SANDBOX_TEST_TOKENS.map(t => t.token)).toEqual([
        'tok_visa',
        'tok_mastercard',
        'tok_decline',
        'tok_insufficient_funds',
        'tok_expired_card',
        'tok_provider_unavailable',
      ]);
      for (const t of SANDBOX_TEST_TOKENS) {
        expect(Boolean(t.declineCode)).toBe(t.outcome === 'decline');
      }
    });
  });

  describe('createSandboxPaymentProvider()', () => {
    // As Payment's main.ts calls it: AGORA_ENV read by the shared reader.
    const forEnv = (vars: Record<string, string>) =>
      createSandboxPaymentProvider(readDeploymentEnv(new EnvReader(vars)));

    it('refuses AGORA_ENV=production, naming the variable and what to do instead', () => {
      expect(() => forEnv({AGORA_ENV: 'production'})).toThrow(ConfigError);
      expect(() => forEnv({AGORA_ENV: 'production'})).toThrow(
        /^AGORA_ENV must not be production with the sandbox payment provider.*configure a real payment provider/,
      );
    });

    it.each<Record<string, string>>([
      {},
      {AGORA_ENV: 'development'},
      {AGORA_ENV: 'staging'},
    ])('runs the sandbox as before with %j', async vars => {
      const sandbox = forEnv(vars);
      expect(sandbox).toBeInstanceOf(SandboxPaymentProvider);
      const answer = await sandbox.authorize({
        idempotencyKey: 'env-key',
        amount: usd('10.00'),
        paymentToken: 'tok_visa',
      });
      expect(answer.approved).toBe(true);
    });
  });
});
