/**
 * The sandbox payment provider: deterministic, in-process, no network. What it answers
 * depends only on the token and the amount, so tests, demos and load runs can ask for
 * every outcome on purpose (see SANDBOX_TEST_TOKENS).
 *
 * Like a real provider it keeps idempotency keys: the same key with the same request
 * returns the first answer; the same key with another request is refused; and it can be
 * asked what it did under a key (`lookup`). Where it keeps them is a SandboxKeyStore:
 * PostgreSQL in the service (PgSandboxKeyStore, so the keys survive a restart of
 * Payment as a real provider's do), memory in unit tests.
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
import type {
  AuthorizationResult,
  PaymentProvider,
  ProviderRecord,
} from '../app/ports.js';

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

export type SandboxOperation = ProviderRecord['operation'];

/** What the sandbox answered under one idempotency key. */
export interface SandboxKeyEntry {
  operation: SandboxOperation;
  /** Of the request, to tell a retry from a reused key. */
  fingerprint: string;
  /** The answer as JSON-safe data (an AuthorizationResult or `{reference}`). */
  answer: AuthorizationResult | {reference: string};
}

/** Where the sandbox keeps its idempotency keys. */
export interface SandboxKeyStore {
  /**
   * Stores `entry` under `key` unless the key is taken, atomically; returns what is
   * stored under the key afterwards (`entry`, or the first one).
   */
  remember(key: string, entry: SandboxKeyEntry): Promise<SandboxKeyEntry>;
  recall(key: string): Promise<SandboxKeyEntry | undefined>;
}

/** Keys in memory, the most recent SANDBOX_KEYS_KEPT: for unit tests and demos. */
export class InMemorySandboxKeyStore implements SandboxKeyStore {
  private readonly keys = new Map<string, SandboxKeyEntry>();

  async remember(
    key: string,
    entry: SandboxKeyEntry,
  ): Promise<SandboxKeyEntry> {
    const seen = this.keys.get(key);
    if (seen) return seen;
    this.keys.set(key, entry);
    if (this.keys.size > SANDBOX_KEYS_KEPT) {
      // Maps iterate in insertion order: the first key is the oldest.
      const oldest = this.keys.keys().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    return entry;
  }

  async recall(key: string): Promise<SandboxKeyEntry | undefined> {
    return this.keys.get(key);
  }
}

/**
 * The sandbox for a deployment (AGORA_ENV): any but production, where it would approve
 * payments that move no money, and orders would ship unpaid.
 * @throws ConfigError naming AGORA_ENV when `deployment` is production, so Payment
 *   stops at start and says that a real provider must be configured.
 */
export function createSandboxPaymentProvider(
  deployment: DeploymentEnv,
  keys: SandboxKeyStore = new InMemorySandboxKeyStore(),
): SandboxPaymentProvider {
  if (deployment === 'production') {
    throw new ConfigError(
      'AGORA_ENV',
      'must not be production with the sandbox payment provider, which approves without moving money: configure a real payment provider (AGORA_PAYMENT_PROVIDER), or run as development or staging',
      deployment,
    );
  }
  return new SandboxPaymentProvider(keys);
}

export class SandboxPaymentProvider implements PaymentProvider {
  readonly name = 'sandbox';

  constructor(
    private readonly keys: SandboxKeyStore = new InMemorySandboxKeyStore(),
  ) {}

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
      'authorize',
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
      'capture',
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
      'void',
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
      'refund',
      {
        authorization: req.authorizationReference,
        amount: req.amount.toString(),
        currency: req.amount.currencyCode,
      },
      () => ({reference: newReference()}),
    );
  }

  async lookup(idempotencyKey: string): Promise<ProviderRecord | undefined> {
    const entry = await this.keys.recall(idempotencyKey);
    if (!entry) return undefined;
    return entry.operation === 'authorize'
      ? {operation: 'authorize', result: entry.answer as AuthorizationResult}
      : {
          operation: entry.operation,
          reference: (entry.answer as {reference: string}).reference,
        };
  }

  /**
   * Answers a key once; repeats get the first answer, other requests are refused. The
   * answer is made first and then stored unless the key is taken: a concurrent first
   * call with the same key gets the stored answer, never a second one.
   */
  private async once<T extends SandboxKeyEntry['answer']>(
    key: string,
    operation: SandboxOperation,
    request: unknown,
    answer: () => T,
  ): Promise<T> {
    const print = fingerprint({operation, request});
    const stored = await this.keys.remember(key, {
      operation,
      fingerprint: print,
      answer: answer(),
    });
    if (stored.fingerprint !== print) {
      throw new IdempotencyConflictError('idempotency_key', key);
    }
    return stored.answer as T;
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
