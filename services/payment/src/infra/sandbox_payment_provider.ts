/**
 * The sandbox payment provider: deterministic, in-process, no network. What it answers
 * depends only on the token and the amount, so tests, demos and load runs can ask for
 * every outcome on purpose (see SANDBOX_TEST_TOKENS).
 *
 * Like a real provider it keeps idempotency keys: the same key with the same request
 * returns the first answer; the same key with another request is refused. Unlike a real
 * provider it keeps them in memory only (the most recent SANDBOX_KEYS_KEPT), so they do
 * not survive a restart of the service.
 */
import {randomUUID} from 'node:crypto';
import type {DeploymentEnv} from '../../../common/auth/auth_config.js';
import {ConfigError} from '../../../common/config/env.js';
import {
  IdempotencyConflictError,
  UnavailableError,
} from '../../../common/errors/domain_error.js';
import {fingerprint} from '../../../common/idempotency/fingerprint.js';
import {Dec, type Money} from '../../../common/money/money.js';
import type {AuthorizationResult, PaymentProvider} from '../app/ports.js';

/** What the sandbox does with an authorization made with a token. */
export interface SandboxTestToken {
  readonly token: string;
  readonly outcome: 'approve' | 'decline' | 'unavailable';
  /** Set when the outcome is 'decline'. */
  readonly declineCode?: string;
  readonly description: string;
}

/**
 * The sandbox's test tokens, for the README and for tests. Any other token that starts
 * with `tok_` approves; anything else declines with "invalid_token". An approving token
 * still declines with "amount_too_large" above SANDBOX_MAX_AMOUNT.
 */
export const SANDBOX_TEST_TOKENS: readonly SandboxTestToken[] = [
  {token: 'tok_visa', outcome: 'approve', description: 'a Visa card; approves'},
  {
    token: 'tok_mastercard',
    outcome: 'approve',
    description: 'a Mastercard; approves',
  },
  {
    token: 'tok_decline',
    outcome: 'decline',
    declineCode: 'card_declined',
    description: 'the issuer declines the card',
  },
  {
    token: 'tok_insufficient_funds',
    outcome: 'decline',
    declineCode: 'insufficient_funds',
    description: 'the account cannot cover the amount',
  },
  {
    token: 'tok_expired_card',
    outcome: 'decline',
    declineCode: 'expired_card',
    description: 'the card has expired',
  },
  {
    token: 'tok_provider_unavailable',
    outcome: 'unavailable',
    description:
      'simulates a provider outage: the call fails with UNAVAILABLE and nothing is stored',
  },
];

/** Authorizations above this amount, in any currency, decline with "amount_too_large". */
export const SANDBOX_MAX_AMOUNT = '1000000.00';

/** How many idempotency keys the sandbox remembers before forgetting the oldest. */
export const SANDBOX_KEYS_KEPT = 100_000;

const TOKENS = new Map(SANDBOX_TEST_TOKENS.map(t => [t.token, t]));
const MAX_AMOUNT = new Dec(SANDBOX_MAX_AMOUNT);

interface Remembered {
  fingerprint: string;
  answer: unknown;
}

/**
 * The sandbox for a deployment (AGORA_ENV): any but production, where it would approve
 * payments that move no money, and orders would ship unpaid.
 * @throws ConfigError naming AGORA_ENV when `deployment` is production, so Payment
 *   stops at start and says that a real provider must be configured.
 */
export function createSandboxPaymentProvider(
  deployment: DeploymentEnv,
): SandboxPaymentProvider {
  if (deployment === 'production') {
    throw new ConfigError(
      'AGORA_ENV',
      'must not be production with the sandbox payment provider, which approves without moving money: configure a real payment provider (AGORA_PAYMENT_PROVIDER), or run as development or staging',
      deployment,
    );
  }
  return new SandboxPaymentProvider();
}

export class SandboxPaymentProvider implements PaymentProvider {
  readonly name = 'sandbox';
  private readonly keys = new Map<string, Remembered>();

  async authorize(req: {
    idempotencyKey: string;
    amount: Money;
    paymentToken: string;
  }): Promise<AuthorizationResult> {
    const test = TOKENS.get(req.paymentToken);
    // An outage is not an answer, so it is not remembered: the retry may succeed.
    if (test?.outcome === 'unavailable') {
      throw new UnavailableError(
        'payment provider sandbox is unavailable; retry later',
      );
    }
    return this.once(
      req.idempotencyKey,
      // The token is remembered only as a hash, like everywhere else in the service.
      {
        amount: req.amount.toString(),
        currency: req.amount.currencyCode,
        token: fingerprint(req.paymentToken),
      },
      (): AuthorizationResult => {
        const reference = newReference();
        const declineCode = sandboxDeclineCode(req.paymentToken, req.amount);
        return declineCode
          ? {approved: false, reference, declineCode}
          : {approved: true, reference};
      },
    );
  }

  async capture(req: {
    idempotencyKey: string;
    authorizationReference: string;
    amount: Money;
  }): Promise<{reference: string}> {
    return this.once(
      req.idempotencyKey,
      {
        authorization: req.authorizationReference,
        amount: req.amount.toString(),
        currency: req.amount.currencyCode,
      },
      () => ({reference: newReference()}),
    );
  }

  async void(req: {
    idempotencyKey: string;
    authorizationReference: string;
  }): Promise<{reference: string}> {
    return this.once(
      req.idempotencyKey,
      {authorization: req.authorizationReference},
      () => ({reference: newReference()}),
    );
  }

  async refund(req: {
    idempotencyKey: string;
    authorizationReference: string;
    amount: Money;
  }): Promise<{reference: string}> {
    return this.once(
      req.idempotencyKey,
      {
        authorization: req.authorizationReference,
        amount: req.amount.toString(),
        currency: req.amount.currencyCode,
      },
      () => ({reference: newReference()}),
    );
  }

  /** Answers a key once; repeats get the first answer, other requests are refused. */
  private once<T>(key: string, request: unknown, answer: () => T): T {
    const print = fingerprint(request);
    const seen = this.keys.get(key);
    if (seen) {
      if (seen.fingerprint !== print) {
        throw new IdempotencyConflictError('idempotency_key', key);
      }
      return seen.answer as T;
    }
    const fresh = answer();
    this.keys.set(key, {fingerprint: print, answer: fresh});
    if (this.keys.size > SANDBOX_KEYS_KEPT) {
      // Maps iterate in insertion order: the first key is the oldest.
      const oldest = this.keys.keys().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    return fresh;
  }
}

/**
 * The decline code the sandbox gives an authorization, or undefined when it approves.
 * The token is judged first (a bad card declines whatever the amount), then the amount.
 */
export function sandboxDeclineCode(
  token: string,
  amount: Money,
): string | undefined {
  const test = TOKENS.get(token);
  if (test?.outcome === 'decline') return test.declineCode;
  if (!test && !token.startsWith('tok_')) return 'invalid_token';
  if (amount.amount.greaterThan(MAX_AMOUNT)) return 'amount_too_large';
  return undefined;
}

function newReference(): string {
  return `sandbox_${randomUUID()}`;
}
