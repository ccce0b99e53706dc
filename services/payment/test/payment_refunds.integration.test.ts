/**
 * Integration: the real Payment process (its main.ts, grpc-js, auth, PostgreSQL) in a
 * database of its own, called over gRPC. Where concurrent refunds and the ledger are
 * proven end to end, as the Order service would meet them.
 */
import {join} from 'node:path';
import {Code} from '@connectrpc/connect';
import pg from 'pg';
import * as paymentv1 from '../../../gen/agora/payment/v1/payment_pb.js';
import {PaymentService} from '../../../gen/agora/payment/v1/payment_service_pb.js';
import {
  localDevIssuer,
  repoRoot,
  startServiceProcess,
  type ServiceProcess,
} from '../../common/process/service_process.js';
import {
  createGrpcClient,
  type ClosableClient,
} from '../../common/rpc/grpc_client.js';
import {freshEnvironment} from '../../common/testing/isolation.js';
import {codeOf} from '../../common/testing/rpc.js';

const NAME = 'payment_refunds';
const isolated = await freshEnvironment(
  `agora_test_${NAME}`,
  `agoratest-${NAME}`,
);
const issuer = await localDevIssuer();

function uuid(n: number): string {
  return `7e000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

describe('Payment service process', () => {
  let payment: ServiceProcess;
  let client: ClosableClient<typeof PaymentService>;
  let db: pg.Pool;

  beforeAll(async () => {
    payment = await startServiceProcess(
      'payment',
      {
        ...isolated.env,
        ...issuer.env,
        AGORA_PAYMENT_PORT: '0',
        AGORA_PAYMENT_HTTP_PORT: '0',
        AGORA_TRACING: 'off',
        AGORA_DRAIN_MS: '100',
      },
      join(repoRoot(), '.agora', 'test-logs', NAME, 'payment.log'),
    );
    // As the saga calls Payment: with the Order service's identity.
    const order = `Bearer ${await issuer.mintForService('order', {
      subject: 'service:order',
      roles: ['service:order'],
    })}`;
    client = createGrpcClient(PaymentService, payment.grpcAddress, {
      authorization: () => order,
    });
    db = new pg.Pool({connectionString: isolated.databaseUrl, max: 2});
  }, 90_000);

  afterAll(async () => {
    client?.close();
    await db?.end();
    await payment?.stop();
  });

  it('answers 20 concurrent partial refunds of one payment OK while they fit and FAILED_PRECONDITION after, never refunding more than was captured', async () => {
    const paymentId = uuid(1);
    const orderId = 'order-refund-race';
    const sale = await client.authorizePayment({
      paymentId,
      orderId,
      amount: {currencyCode: 'USD', amount: '10.00'},
      paymentToken: 'tok_visa',
      capture: true,
    });
    expect(sale.payment?.state).toBe(paymentv1.PaymentState.CAPTURED);

    const codes = await Promise.all(
      Array.from({length: 20}, (_, i) =>
        codeOf(
          client.refundPayment({
            paymentId,
            refundId: uuid(100 + i),
            amount: {currencyCode: 'USD', amount: '1.00'},
            reason: `race ${i}`,
          }),
        ),
      ),
    );

    const count = (code: Code | 'ok') => codes.filter(c => c === code).length;
    expect({
      ok: count('ok'),
      failedPrecondition: count(Code.FailedPrecondition),
    }).toEqual({ok: 10, failedPrecondition: 10});
    const {payment: after} = await client.getPayment({paymentId});
    expect(after?.state).toBe(paymentv1.PaymentState.REFUNDED);
    expect(after?.refundedAmount?.amount).toBe('10.00');
    expect(after?.refunds).toHaveLength(10);
    const {rows} = await db.query<{refunded: string; n: string}>(
      `select sum(amount)::text as refunded, count(*) as n from payment.refund
        where payment_id = $1`,
      [paymentId],
    );
    expect(rows[0]).toEqual({refunded: '10.0000', n: '10'});

    // The ledger of the order: everything captured went back to the customer.
    const ledger = await client.getLedgerBalances({orderId});
    const balances = Object.fromEntries(
      ledger.balances.map(b => [
        paymentv1.LedgerAccount[b.account],
        b.balance?.amount,
      ]),
    );
    expect(balances).toEqual({
      CUSTOMER_FUNDS: '0.00',
      AUTHORIZED_HOLDS: '0.00',
      MERCHANT_REVENUE: '0.00',
    });
    // authorize + capture + 10 refunds
    expect(ledger.transactionCount).toBe(12n);
  }, 60_000);

  it('refuses GetLedgerBalances to a customer and answers it to the Order service', async () => {
    const customer = await issuer.bearer({
      subject: 'alice',
      roles: ['customer'],
    });
    const asCustomer = createGrpcClient(PaymentService, payment.grpcAddress, {
      authorization: () => customer,
    });
    try {
      expect(await codeOf(asCustomer.getLedgerBalances({}))).toBe(
        Code.PermissionDenied,
      );
    } finally {
      asCustomer.close();
    }
    expect(await codeOf(client.getLedgerBalances({currencyCode: 'usd'}))).toBe(
      Code.InvalidArgument,
    );
    expect(await codeOf(client.getLedgerBalances({currencyCode: 'USD'}))).toBe(
      'ok',
    );
  });
});
