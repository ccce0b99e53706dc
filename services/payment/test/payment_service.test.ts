/**
 * PaymentService through an in-memory Connect router: the real handlers, use cases,
 * sandbox provider and mapper, with the store in memory. The interceptor does what the
 * service host does to every call (validate the request, map errors to status codes).
 */
import {fromBinary} from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
  type Client,
} from '@connectrpc/connect';
import * as paymentv1 from '../../../gen/agora/payment/v1/payment_pb.js';
import {PaymentService} from '../../../gen/agora/payment/v1/payment_service_pb.js';
import {edgeInterceptor} from '../../common/rpc/http_edge.js';
import {codeOf} from '../../common/testing/rpc.js';
import {AuthorizePayment} from '../src/app/authorize_payment.js';
import {CapturePayment} from '../src/app/capture_payment.js';
import {ReadPayments} from '../src/app/read_payments.js';
import {RefundPayment} from '../src/app/refund_payment.js';
import {ResolvePendingPayments} from '../src/app/resolve_pending_payments.js';
import {VoidPayment} from '../src/app/void_payment.js';
import {SandboxPaymentProvider} from '../src/infra/sandbox_payment_provider.js';
import {paymentEvent} from '../src/events/payment_events.js';
import {createPaymentService} from '../src/rpc/payment_service.js';
import {InMemoryPaymentStore} from './in_memory_payment_store.js';
import {authorizedPayment} from './payment_fixtures.js';

const State = paymentv1.PaymentState;

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

describe('PaymentService', () => {
  let client: Client<typeof PaymentService>;
  let store: InMemoryPaymentStore;
  let next = 0;

  beforeEach(() => {
    store = new InMemoryPaymentStore();
    const provider = new SandboxPaymentProvider();
    const clock = {now: () => new Date()};
    const pending = new ResolvePendingPayments(store, provider, clock, 30_000);
    const service = createPaymentService({
      authorize: new AuthorizePayment(store, provider, clock),
      capture: new CapturePayment(store, provider, clock),
      void: new VoidPayment(store, provider, clock, pending),
      refund: new RefundPayment(store, provider, clock),
      read: new ReadPayments(store, pending),
    });
    client = createClient(
      PaymentService,
      createRouterTransport(router => router.service(PaymentService, service), {
        router: {interceptors: [edgeInterceptor()]},
      }),
    );
  });

  const authorize = (amount = '10.00', token = 'tok_visa', id = uuid(++next)) =>
    client.authorizePayment({
      paymentId: id,
      orderId: 'order-1',
      amount: {currencyCode: 'USD', amount},
      paymentToken: token,
    });

  describe('authorizePayment()', () => {
    it('returns the AUTHORIZED payment with exact amounts', async () => {
      const {payment} = await authorize('10.00');
      expect(payment?.state).toBe(State.AUTHORIZED);
      expect(payment?.amount).toMatchObject({
        currencyCode: 'USD',
        amount: '10.00',
      });
      expect(payment?.capturedAmount?.amount).toBe('0.00');
      expect(payment?.provider).toBe('sandbox');
      expect(payment?.providerReference).toMatch(/^sandbox_/);
    });

    it('returns DECLINED with a decline code when the card is declined', async () => {
      const {payment} = await authorize('10.00', 'tok_insufficient_funds');
      expect(payment?.state).toBe(State.DECLINED);
      expect(payment?.declineCode).toBe('insufficient_funds');
    });

    it('rejects with INVALID_ARGUMENT when the amount is finer than the minor unit', async () => {
      const err = await authorize('10.001').catch(e => ConnectError.from(e));
      expect((err as ConnectError).code).toBe(Code.InvalidArgument);
      expect((err as ConnectError).rawMessage).toContain('amount');
    });

    it('rejects with INVALID_ARGUMENT when the amount is zero, negative or not ISO 4217', async () => {
      expect(await codeOf(authorize('0'))).toBe(Code.InvalidArgument);
      expect(await codeOf(authorize('-1.00'))).toBe(Code.InvalidArgument);
      expect(
        await codeOf(
          client.authorizePayment({
            paymentId: uuid(++next),
            orderId: 'order-1',
            amount: {currencyCode: 'XYZ', amount: '1.00'},
            paymentToken: 'tok_visa',
          }),
        ),
      ).toBe(Code.InvalidArgument);
    });

    it('rejects with INVALID_ARGUMENT when the payment id is not a UUID', async () => {
      expect(await codeOf(authorize('1.00', 'tok_visa', 'not-a-uuid'))).toBe(
        Code.InvalidArgument,
      );
    });

    it('rejects with ALREADY_EXISTS when a payment id is reused for another amount', async () => {
      const id = uuid(++next);
      await authorize('10.00', 'tok_visa', id);
      expect(await codeOf(authorize('10.00', 'tok_visa', id))).toBe('ok');
      expect(await codeOf(authorize('11.00', 'tok_visa', id))).toBe(
        Code.AlreadyExists,
      );
    });

    it('rejects with UNAVAILABLE and leaves the payment PENDING when the provider is down', async () => {
      const id = uuid(++next);
      expect(
        await codeOf(authorize('10.00', 'tok_provider_unavailable', id)),
      ).toBe(Code.Unavailable);
      // Written before the provider was asked; the outcome is unknown to Payment.
      const {payment} = await client.getPayment({paymentId: id});
      expect(payment?.state).toBe(State.PENDING);
      expect(payment?.capturedAmount?.amount).toBe('0.00');
    });
  });

  describe('capture, refund and void', () => {
    it('runs the happy path and refuses what the state does not allow', async () => {
      const id = (await authorize('10.00')).payment!.paymentId;

      const captured = await client.capturePayment({
        paymentId: id,
        amount: {currencyCode: 'USD', amount: '6.00'},
      });
      expect(captured.payment?.state).toBe(State.CAPTURED);
      expect(captured.payment?.capturedAmount?.amount).toBe('6.00');

      const r1 = await client.refundPayment({
        paymentId: id,
        refundId: uuid(901),
        amount: {currencyCode: 'USD', amount: '2.00'},
        reason: 'damaged',
      });
      expect(r1.payment?.state).toBe(State.PARTIALLY_REFUNDED);
      expect(r1.refund).toMatchObject({refundId: uuid(901), reason: 'damaged'});
      expect(r1.refund?.amount?.amount).toBe('2.00');

      const r2 = await client.refundPayment({
        paymentId: id,
        refundId: uuid(902),
        amount: {currencyCode: 'USD', amount: '2.00'},
      });
      expect(r2.payment?.refundedAmount?.amount).toBe('4.00');
      expect(r2.payment?.refunds.map(r => r.refundId)).toEqual([
        uuid(901),
        uuid(902),
      ]);

      expect(
        await codeOf(
          client.refundPayment({
            paymentId: id,
            refundId: uuid(903),
            amount: {currencyCode: 'USD', amount: '2.01'},
          }),
        ),
      ).toBe(Code.FailedPrecondition);
      expect(
        await codeOf(
          client.refundPayment({
            paymentId: id,
            refundId: uuid(901),
            amount: {currencyCode: 'USD', amount: '1.00'},
          }),
        ),
      ).toBe(Code.AlreadyExists);
      expect(
        await codeOf(
          client.capturePayment({
            paymentId: id,
            amount: {currencyCode: 'EUR', amount: '6.00'},
          }),
        ),
      ).toBe(Code.InvalidArgument);
      expect(await codeOf(client.voidPayment({paymentId: id}))).toBe(
        Code.FailedPrecondition,
      );

      const rest = await client.refundPayment({
        paymentId: id,
        refundId: uuid(904),
      });
      expect(rest.refund?.amount?.amount).toBe('2.00');
      expect(rest.payment?.state).toBe(State.REFUNDED);

      const {payments} = await client.listPayments({orderId: 'order-1'});
      expect(payments.map(p => p.paymentId)).toContain(id);
    });

    it('voids an authorization, and records a VOIDED tombstone for an unknown payment', async () => {
      const id = (await authorize('10.00')).payment!.paymentId;
      const {payment} = await client.voidPayment({paymentId: id});
      expect(payment?.state).toBe(State.VOIDED);
      expect(await codeOf(client.capturePayment({paymentId: id}))).toBe(
        Code.FailedPrecondition,
      );
      const tombstone = await client.voidPayment({paymentId: uuid(999)});
      expect(tombstone.payment?.state).toBe(State.VOIDED);
      expect(tombstone.payment?.amount).toBeUndefined();
      expect(
        await codeOf(
          client.refundPayment({paymentId: uuid(999), refundId: uuid(998)}),
        ),
      ).toBe(Code.FailedPrecondition);
      expect(await codeOf(client.getPayment({paymentId: uuid(997)}))).toBe(
        Code.NotFound,
      );
    });
  });
});

describe('paymentEvent()', () => {
  it('encodes the whole payment as agora.payment.v1.Payment under its topic', () => {
    const p = authorizedPayment({
      id: uuid(1),
      now: new Date('2025-01-01T10:00:00Z'),
      provider: 'sandbox',
      providerReference: 'sandbox_x',
    });
    p.capture(undefined, new Date('2025-01-01T10:01:00Z'));

    const event = paymentEvent(p, 'captured');

    expect(event.topic).toBe('payment.captured');
    expect(event.type).toBe('agora.payment.v1.Payment');
    expect(event.eventId).toMatch(/^[0-9a-f-]{36}$/);
    const decoded = fromBinary(paymentv1.PaymentSchema, event.body);
    expect(decoded.paymentId).toBe(uuid(1));
    expect(decoded.state).toBe(State.CAPTURED);
    expect(decoded.capturedAmount?.amount).toBe('10.00');
  });
});
