/**
 * Integration: the use cases on PgPaymentStore against the real PostgreSQL
 * (AGORA_TEST_PG, default postgres://postgres@127.0.0.1:5432/postgres), in a schema of
 * its own that is dropped afterwards. This is where the row lock, the refund-id claim
 * and the CHECK constraints are proven under real concurrency.
 */
import {fromBinary} from '@bufbuild/protobuf';
import pg from 'pg';
import * as paymentv1 from '../../../gen/agora/payment/v1/payment_pb.js';
import {openDatabase, type Database} from '../../common/db/database.js';
import {
  IdempotencyConflictError,
  UnavailableError,
} from '../../common/errors/domain_error.js';
import {createLogger} from '../../common/log/logger.js';
import {Money} from '../../common/money/money.js';
import {AuthorizePayment} from '../src/app/authorize_payment.js';
import {CapturePayment} from '../src/app/capture_payment.js';
import {RefundPayment} from '../src/app/refund_payment.js';
import {PAYMENT_MIGRATIONS} from '../src/infra/migrations/0001_initial.js';
import type {Payment} from '../src/domain/payment.js';
import {PgPaymentStore} from '../src/infra/pg_payment_store.js';
import {paymentEvent} from '../src/events/payment_events.js';
import {
  mockPaymentProvider,
  type MockPaymentProvider,
} from './mock_payment_provider.js';

// The admin database of the test server, as the mesh tests use: the schema below is
// created there and dropped afterwards, so `npm start` data is never touched.
const URL =
  process.env.AGORA_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SCHEMA = `payment_test_${process.pid}_${Date.now()}`;
const usd = (amount: string) => Money.parse(amount, 'USD');

// Opened at load time: a database that cannot be reached then fails the suite once,
// with its own message, instead of once per test.
const db: Database = await openDatabase({
  url: URL,
  schema: SCHEMA,
  migrations: PAYMENT_MIGRATIONS,
  poolSize: 8,
  log: createLogger('payment-test', 'error'),
});

describe('PgPaymentStore', () => {
  const store = new PgPaymentStore(db, paymentEvent);
  let provider: MockPaymentProvider;
  let n = 0;
  const clock = {now: () => new Date()};
  const id = () =>
    `11111111-2222-4333-8444-${String(process.pid % 1000).padStart(3, '0')}${String(++n).padStart(9, '0')}`;

  /** The stored payment (never a tombstone in these tests). */
  const found = async (paymentId: string) =>
    (await store.find(paymentId)) as Payment | undefined;

  afterAll(async () => {
    await db.close();
    const admin = new pg.Client({connectionString: URL});
    await admin.connect();
    await admin.query(`drop schema if exists "${SCHEMA}" cascade`);
    await admin.end();
  });

  beforeEach(() => {
    // Slow enough that racing transactions overlap at the provider call.
    provider = mockPaymentProvider({delayMs: 30});
  });

  async function authorized(amount = '10.00'): Promise<string> {
    const paymentId = id();
    await new AuthorizePayment(store, provider, clock).execute({
      paymentId,
      orderId: `order-${paymentId}`,
      amount: usd(amount),
      paymentToken: 'tok_visa',
    });
    return paymentId;
  }

  async function outbox(): Promise<
    Array<{topic: string; type: string; body: Buffer}>
  > {
    return db.query('select topic, type, body from outbox order by id');
  }

  it('keeps amounts exact through NUMERIC, JSON and back', async () => {
    const paymentId = await authorized('123456789012345678.99');
    const capture = new CapturePayment(store, provider, clock);
    await capture.execute({paymentId, amount: usd('123456789012345678.98')});
    await new RefundPayment(store, provider, clock).execute({
      paymentId,
      refundId: id(),
      amount: usd('0.01'),
      reason: 'r',
    });

    const p = (await found(paymentId))!;
    expect(p.amount.toString()).toBe('123456789012345678.99');
    expect(p.capturedAmount.toString()).toBe('123456789012345678.98');
    expect(p.refunds[0].amount.toString()).toBe('0.01');
    expect(p.refundableAmount.toString()).toBe('123456789012345678.97');
  });

  it('writes one outbox event per change, in the same transaction', async () => {
    await db.execute('delete from outbox');
    const paymentId = await authorized();
    await new CapturePayment(store, provider, clock).execute({paymentId});

    const rows = await outbox();
    expect(rows.map(r => r.topic)).toEqual([
      'payment.authorized',
      'payment.captured',
    ]);
    expect(rows[1].type).toBe('agora.payment.v1.Payment');
    const body = fromBinary(paymentv1.PaymentSchema, rows[1].body);
    expect(body.paymentId).toBe(paymentId);
    expect(body.state).toBe(paymentv1.PaymentState.CAPTURED);
  });

  it('writes no event and keeps the payment AUTHORIZED when the provider fails a capture', async () => {
    const paymentId = await authorized();
    await db.execute('delete from outbox');
    provider.capture.mockRejectedValueOnce(new UnavailableError('down'));

    await expect(
      new CapturePayment(store, provider, clock).execute({paymentId}),
    ).rejects.toThrow(UnavailableError);

    expect((await found(paymentId))?.state).toBe('authorized');
    expect(await outbox()).toEqual([]);
  });

  describe('capture()', () => {
    it('charges once when two captures of one payment race', async () => {
      const paymentId = await authorized();
      const capture = new CapturePayment(store, provider, clock);

      const results = await Promise.all([
        capture.execute({paymentId, amount: usd('6.00')}),
        capture.execute({paymentId, amount: usd('6.00')}),
      ]);

      expect(results.map(p => p.state)).toEqual(['captured', 'captured']);
      expect(provider.capture).toHaveBeenCalledTimes(1);
    });
  });

  describe('refund()', () => {
    it('never refunds more than was captured when refunds race', async () => {
      const paymentId = await authorized();
      await new CapturePayment(store, provider, clock).execute({
        paymentId,
        amount: usd('6.00'),
      });
      const refund = new RefundPayment(store, provider, clock);

      const results = await Promise.allSettled(
        [1, 2, 3].map(() =>
          refund.execute({
            paymentId,
            refundId: id(),
            amount: usd('2.50'),
            reason: '',
          }),
        ),
      );

      expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(2);
      expect(provider.refund).toHaveBeenCalledTimes(2);
      const p = (await found(paymentId))!;
      expect(p.refundedAmount.toString()).toBe('5.00');
      expect(p.refunds).toHaveLength(2);
    });

    it('rejects a refund id racing on two payments without paying twice', async () => {
      const a = await authorized();
      const b = await authorized();
      const capture = new CapturePayment(store, provider, clock);
      await capture.execute({paymentId: a});
      await capture.execute({paymentId: b});
      const refund = new RefundPayment(store, provider, clock);
      const refundId = id();

      const results = await Promise.allSettled(
        [a, b].map(paymentId =>
          refund.execute({
            paymentId,
            refundId,
            amount: usd('1.00'),
            reason: '',
          }),
        ),
      );

      const rejected = results.filter(r => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect((rejected[0] as PromiseRejectedResult).reason).toBeInstanceOf(
        IdempotencyConflictError,
      );
      expect(provider.refund).toHaveBeenCalledTimes(1);
    });
  });

  it('refuses a captured amount over the authorized one at the database too', async () => {
    const paymentId = await authorized();
    await expect(
      db.execute(
        "update payment set state = 'captured', captured_amount = 11 where payment_id = $1",
        [paymentId],
      ),
    ).rejects.toThrow(/payment_captured_within_amount/);
  });
});
