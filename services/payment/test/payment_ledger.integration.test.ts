/**
 * Integration against the real PostgreSQL (a schema of its own, dropped afterwards):
 * the ledger's database rules, intent before effect with the resolver asking the
 * sandbox (its keys in PostgreSQL) after a lost answer, and void tombstones.
 */
import pg from 'pg';
import {openDatabase, type Database} from '../../common/db/database.js';
import {
  DomainError,
  UnavailableError,
} from '../../common/errors/domain_error.js';
import {createLogger} from '../../common/log/logger.js';
import {Money} from '../../common/money/money.js';
import {AuthorizePayment} from '../src/app/authorize_payment.js';
import type {PaymentProvider} from '../src/app/ports.js';
import {ReadPayments} from '../src/app/read_payments.js';
import {RefundPayment} from '../src/app/refund_payment.js';
import {ResolvePendingPayments} from '../src/app/resolve_pending_payments.js';
import {VoidPayment} from '../src/app/void_payment.js';
import {Payment, VoidTombstone} from '../src/domain/payment.js';
import {PAYMENT_MIGRATIONS} from '../src/infra/migrations/0001_initial.js';
import {PgPaymentStore} from '../src/infra/pg_payment_store.js';
import {PgSandboxKeyStore} from '../src/infra/pg_sandbox_key_store.js';
import {SandboxPaymentProvider} from '../src/infra/sandbox_payment_provider.js';
import {paymentEvent} from '../src/events/payment_events.js';
import {mockPaymentProvider} from './mock_payment_provider.js';

const URL =
  process.env.AGORA_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SCHEMA = `payment_ledger_test_${process.pid}_${Date.now()}`;
const CUTOFF_MS = 30_000;
const usd = (amount: string) => Money.parse(amount, 'USD');

const open = (poolSize: number) =>
  openDatabase({
    url: URL,
    schema: SCHEMA,
    migrations: PAYMENT_MIGRATIONS,
    poolSize,
    log: createLogger('payment-ledger-test', 'error'),
  });
const db: Database = await open(6);
// The sandbox's own connections, as in main.ts.
const sandboxDb: Database = await open(2);

let n = 0;
const id = () =>
  `22222222-3333-4444-8555-${String(process.pid % 1000).padStart(3, '0')}${String(++n).padStart(9, '0')}`;

/** A clock a test moves forward by hand. */
function movableClock() {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    advance: (ms: number) => {
      offsetMs += ms;
    },
  };
}

/** The sandbox on its PostgreSQL keys: a new instance is a "restarted" provider client. */
const sandbox = () =>
  new SandboxPaymentProvider(new PgSandboxKeyStore(sandboxDb));

/**
 * The sandbox, except that the answer of `lost` calls never comes back: the provider
 * did the work (and kept its key), the caller sees a connection reset, as when Payment
 * dies between the provider call and the row update.
 */
function answerLost(
  provider: PaymentProvider,
  lost: 'authorize' | 'capture',
): PaymentProvider {
  const reset = () => new UnavailableError('connection reset by peer');
  return {
    name: provider.name,
    authorize: async req => {
      const answer = await provider.authorize(req);
      if (lost === 'authorize') throw reset();
      return answer;
    },
    capture: async req => {
      await provider.capture(req);
      throw reset();
    },
    void: req => provider.void(req),
    refund: req => provider.refund(req),
    lookup: key => provider.lookup(key),
  };
}

async function balancesOf(
  store: PgPaymentStore,
  orderId: string,
): Promise<Record<string, string>> {
  const {balances} = await store.ledgerBalances({orderId});
  return Object.fromEntries(
    balances.map(b => [b.account, b.balance.toString()]),
  );
}

/** Runs `sql` statements in one transaction as the service would, committing at the end. */
async function inOneTransaction(statements: string[]): Promise<void> {
  await db.tx(async sql => {
    for (const s of statements) await sql.execute(s);
  });
}

function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

afterAll(async () => {
  await db.close();
  await sandboxDb.close();
  const admin = new pg.Client({connectionString: URL});
  await admin.connect();
  await admin.query(`drop schema if exists "${SCHEMA}" cascade`);
  await admin.end();
});

describe('the ledger in PostgreSQL', () => {
  const store = new PgPaymentStore(db, paymentEvent);
  const clock = {now: () => new Date()};

  async function sale(amount = '10.00') {
    const paymentId = id();
    const orderId = `order-${paymentId}`;
    await new AuthorizePayment(store, sandbox(), clock).execute({
      paymentId,
      orderId,
      amount: usd(amount),
      paymentToken: 'tok_visa',
      capture: true,
    });
    return {paymentId, orderId};
  }

  it('posts a sale and a refund as balanced entries in the same transactions as the state', async () => {
    const {paymentId, orderId} = await sale('10.00');
    await new RefundPayment(store, sandbox(), clock).execute({
      paymentId,
      refundId: id(),
      amount: usd('2.50'),
      reason: '',
    });
    expect(await balancesOf(store, orderId)).toEqual({
      authorized_holds: '0.00',
      customer_funds: '-7.50',
      merchant_revenue: '7.50',
    });
    const [row] = await db.query<{total: string}>(
      'select coalesce(sum(amount), 0)::text as total from ledger_posting',
    );
    expect(Number(row.total)).toBe(0);
  });

  it('refuses at commit an unbalanced ledger transaction inserted by hand', async () => {
    const {paymentId, orderId} = await sale();
    const err = await errorOf(
      inOneTransaction([
        `insert into ledger_transaction (payment_id, order_id, kind, created_at)
         values ('${paymentId}', '${orderId}', 'capture', now())`,
        `insert into ledger_posting (ledger_transaction_id, account, currency_code, amount)
         select max(ledger_transaction_id), 'merchant_revenue', 'USD', 10.00 from ledger_transaction`,
        `insert into ledger_posting (ledger_transaction_id, account, currency_code, amount)
         select max(ledger_transaction_id), 'customer_funds', 'USD', -9.99 from ledger_transaction`,
      ]),
    );
    expect(String(err)).toMatch(
      /does not balance: its USD postings sum to 0.01/,
    );
    expect(await balancesOf(store, orderId)).toEqual({
      authorized_holds: '0.00',
      customer_funds: '-10.00',
      merchant_revenue: '10.00',
    });
  });

  it('refuses a ledger transaction with a single posting and the removal of one posting', async () => {
    const {paymentId, orderId} = await sale();
    const lone = await errorOf(
      inOneTransaction([
        `insert into ledger_transaction (payment_id, order_id, kind, created_at)
         values ('${paymentId}', '${orderId}', 'capture', now())`,
      ]),
    );
    expect(String(lone)).toMatch(/fewer than two postings/);
    const removed = await errorOf(
      inOneTransaction([
        `delete from ledger_posting where ledger_posting_id = (
           select max(lp.ledger_posting_id) from ledger_posting lp
             join ledger_transaction t using (ledger_transaction_id)
            where t.order_id = '${orderId}')`,
      ]),
    );
    expect(String(removed)).toMatch(/does not balance/);
  });

  it('refuses a refunded amount over the captured one, and a capture over the authorization, at the database', async () => {
    const {paymentId} = await sale('10.00');
    await expect(
      db.execute(
        "update payment set refunded_amount = 10.01, state = 'partially_refunded' where payment_id = $1",
        [paymentId],
      ),
    ).rejects.toThrow(/payment_refunded_within_captured/);
    await expect(
      db.execute(
        'update payment set captured_amount = 10.01 where payment_id = $1',
        [paymentId],
      ),
    ).rejects.toThrow(/payment_captured_within_amount/);
  });
});

describe('intent before effect', () => {
  it('finds a sale whose capture answer was lost CAPTURED by asking the provider after a restart, not lost', async () => {
    const paymentId = id();
    const orderId = `order-${paymentId}`;
    const before = new PgPaymentStore(db, paymentEvent);
    const err = await errorOf(
      new AuthorizePayment(before, answerLost(sandbox(), 'capture'), {
        now: () => new Date(),
      }).execute({
        paymentId,
        orderId,
        amount: usd('10.00'),
        paymentToken: 'tok_visa',
        capture: true,
      }),
    );
    expect(err).toBeInstanceOf(UnavailableError);
    // The row was written before the provider was asked: the charge is not lost.
    expect((await before.find(paymentId))?.state).toBe('pending');

    // "Restart": new store, new provider client, nothing in memory; past the cut-off.
    const store = new PgPaymentStore(db, paymentEvent);
    const clock = movableClock();
    const resolver = new ResolvePendingPayments(
      store,
      sandbox(),
      clock,
      CUTOFF_MS,
    );
    expect(await resolver.pass()).toBe(0);
    expect((await store.find(paymentId))?.state).toBe('pending');
    clock.advance(CUTOFF_MS + 1000);
    expect(await resolver.pass()).toBeGreaterThanOrEqual(1);

    const p = (await store.find(paymentId)) as Payment;
    expect(p.state).toBe('captured');
    expect(p.capturedAmount.toString()).toBe('10.00');
    expect(await balancesOf(store, orderId)).toEqual({
      authorized_holds: '0.00',
      customer_funds: '-10.00',
      merchant_revenue: '10.00',
    });
  });

  it('resolves on GetPayment a PENDING payment past the cut-off whose authorization answer was lost', async () => {
    const paymentId = id();
    const store = new PgPaymentStore(db, paymentEvent);
    await errorOf(
      new AuthorizePayment(store, answerLost(sandbox(), 'authorize'), {
        now: () => new Date(),
      }).execute({
        paymentId,
        orderId: `order-${paymentId}`,
        amount: usd('5.00'),
        paymentToken: 'tok_visa',
      }),
    );
    const clock = movableClock();
    const read = new ReadPayments(
      store,
      new ResolvePendingPayments(store, sandbox(), clock, CUTOFF_MS),
    );
    expect((await read.payment(paymentId)).state).toBe('pending');
    clock.advance(CUTOFF_MS);
    expect((await read.payment(paymentId)).state).toBe('authorized');
  });

  it('declines a PENDING payment the provider never received once the cut-off passed', async () => {
    const paymentId = id();
    const store = new PgPaymentStore(db, paymentEvent);
    // The call fails before the provider (a fresh sandbox below) records the key: the
    // row stays PENDING, as when Payment dies between the row and the provider call.
    const provider = mockPaymentProvider();
    provider.authorize.mockRejectedValueOnce(
      new UnavailableError('provider unreachable'),
    );
    await errorOf(
      new AuthorizePayment(store, provider, {now: () => new Date()}).execute({
        paymentId,
        orderId: `order-${paymentId}`,
        amount: usd('5.00'),
        paymentToken: 'tok_visa',
      }),
    );
    const stranded = await store.find(paymentId);
    expect(stranded).toBeInstanceOf(Payment);
    expect((stranded as Payment).state).toBe('pending');
    const clock = movableClock();
    clock.advance(CUTOFF_MS);
    const resolved = await new ResolvePendingPayments(
      store,
      sandbox(),
      clock,
      CUTOFF_MS,
    ).one(paymentId);
    expect(resolved).toMatchObject({
      state: 'declined',
      declineCode: 'not_received_by_provider',
    });
  });
});

describe('VoidPayment', () => {
  const store = new PgPaymentStore(db, paymentEvent);

  it('answers ABORTED PAYMENT_OUTCOME_UNKNOWN for a PENDING payment within the cut-off, and voids it once resolved past it', async () => {
    const paymentId = id();
    const orderId = `order-${paymentId}`;
    await errorOf(
      new AuthorizePayment(store, answerLost(sandbox(), 'authorize'), {
        now: () => new Date(),
      }).execute({
        paymentId,
        orderId,
        amount: usd('5.00'),
        paymentToken: 'tok_visa',
      }),
    );
    const clock = movableClock();
    const provider = sandbox();
    const voidPayment = new VoidPayment(
      store,
      provider,
      clock,
      new ResolvePendingPayments(store, provider, clock, CUTOFF_MS),
    );
    const err = await errorOf(voidPayment.execute(paymentId));
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({
      kind: 'aborted',
      reason: 'PAYMENT_OUTCOME_UNKNOWN',
    });

    clock.advance(CUTOFF_MS);
    expect((await voidPayment.execute(paymentId)).state).toBe('voided');
    expect(await balancesOf(store, orderId)).toEqual({
      authorized_holds: '0.00',
      customer_funds: '0.00',
    });
  });

  it('records a tombstone for an unseen payment id, so a late authorization declines voided_before_authorize without calling the provider', async () => {
    const paymentId = id();
    const provider = mockPaymentProvider();
    const clock = {now: () => new Date()};
    const voidPayment = new VoidPayment(
      store,
      provider,
      clock,
      new ResolvePendingPayments(store, provider, clock, CUTOFF_MS),
    );
    const tombstone = await voidPayment.execute(paymentId);
    expect(tombstone).toBeInstanceOf(VoidTombstone);
    expect(await voidPayment.execute(paymentId)).toBeInstanceOf(VoidTombstone);

    const late = await new AuthorizePayment(store, provider, clock).execute({
      paymentId,
      orderId: 'order-late',
      amount: usd('10.00'),
      paymentToken: 'tok_visa',
      capture: true,
    });
    expect(late).toMatchObject({
      state: 'declined',
      declineCode: 'voided_before_authorize',
    });
    expect(provider.authorize).not.toHaveBeenCalled();
    expect(provider.capture).not.toHaveBeenCalled();
    // A retry of the late authorization gets the same answer; a void still holds.
    const again = await new AuthorizePayment(store, provider, clock).execute({
      paymentId,
      orderId: 'order-late',
      amount: usd('10.00'),
      paymentToken: 'tok_visa',
      capture: true,
    });
    expect(again.declineCode).toBe('voided_before_authorize');
    expect((await voidPayment.execute(paymentId)).state).toBe('declined');
    expect(await balancesOf(store, 'order-late')).toEqual({});
  });

  it('never charges a payment a racing void was told it voided', async () => {
    const provider = sandbox();
    const clock = {now: () => new Date()};
    const voidPayment = new VoidPayment(
      store,
      provider,
      clock,
      new ResolvePendingPayments(store, provider, clock, CUTOFF_MS),
    );
    const authorize = new AuthorizePayment(store, provider, clock);
    const ids = Array.from({length: 10}, id);
    const results = await Promise.all(
      ids.map(paymentId =>
        Promise.allSettled([
          voidPayment.execute(paymentId),
          authorize.execute({
            paymentId,
            orderId: `order-${paymentId}`,
            amount: usd('1.00'),
            paymentToken: 'tok_visa',
            capture: true,
          }),
        ]),
      ),
    );
    for (const [i, [voided]] of results.entries()) {
      const final = await store.find(ids[i]);
      if (voided.status === 'fulfilled') {
        // The void answered OK: the payment charges nothing, now or later.
        expect(['voided', 'declined']).toContain(final?.state);
      } else {
        // Otherwise the void said why: the sale was captured (refund instead), or its
        // outcome was still unknown (retry).
        expect(voided.reason).toMatchObject({
          kind: expect.stringMatching(/^(failed_precondition|aborted)$/),
        });
      }
    }
  });
});
