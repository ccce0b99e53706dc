/**
 * Payment's composition root: configuration, PostgreSQL, the event bus, the payment
 * provider, the use cases and the RPC handlers, built once here and nowhere else.
 */
import {PaymentService} from '../../../gen/agora/payment/v1/payment_service_pb.js';
import {readDeploymentEnv} from '../../common/auth/auth_config.js';
import {openPersistence} from '../../common/process/persistence.js';
import {runService} from '../../common/process/run_service.js';
import {bindService} from '../../common/rpc/http_edge.js';
import {AuthorizePayment} from './app/authorize_payment.js';
import {CapturePayment} from './app/capture_payment.js';
import {ReadPayments} from './app/read_payments.js';
import {RefundPayment} from './app/refund_payment.js';
import {VoidPayment} from './app/void_payment.js';
import {PAYMENT_MIGRATIONS} from './infra/migrations/0001_initial.js';
import {PgPaymentStore} from './infra/pg_payment_store.js';
import {createSandboxPaymentProvider} from './infra/sandbox_payment_provider.js';
import {paymentEvent} from './rpc/mapper.js';
import {createPaymentService} from './rpc/payment_service.js';

await runService('payment', async ctx => {
  const {env, log} = ctx;
  // The only provider so far; a real one would be another value here. Chosen before
  // anything is opened: the sandbox refuses AGORA_ENV=production, and then Payment
  // stops at once.
  env.oneOf('AGORA_PAYMENT_PROVIDER', 'sandbox', ['sandbox']);
  const provider = createSandboxPaymentProvider(readDeploymentEnv(env));
  log.info('payment provider', {provider: provider.name});

  const {db, relay} = await openPersistence(ctx, 'payment', PAYMENT_MIGRATIONS);
  const store = new PgPaymentStore(db, paymentEvent, () => relay.nudge());

  const clock = {now: () => new Date()};
  const service = createPaymentService({
    authorize: new AuthorizePayment(store, provider, clock),
    capture: new CapturePayment(store, provider, clock),
    void: new VoidPayment(store, provider, clock),
    refund: new RefundPayment(store, provider, clock),
    read: new ReadPayments(store),
  });
  return {bindings: [bindService(PaymentService, service)]};
});
