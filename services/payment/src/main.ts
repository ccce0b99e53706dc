/**
 * Payment's composition root: configuration, PostgreSQL, the event bus, the payment
 * provider, the use cases and the RPC handlers, built once here and nowhere else.
 */
import {PaymentService} from '../../../gen/agora/payment/v1/payment_service_pb.js';
import {readDeploymentEnv} from '../../common/auth/auth_config.js';
import {openDatabase, type MigrationModule} from '../../common/db/database.js';
import {openPersistence} from '../../common/process/persistence.js';
import {runService} from '../../common/process/run_service.js';
import {bindService} from '../../common/rpc/http_edge.js';
import {AuthorizePayment} from './app/authorize_payment.js';
import {CapturePayment} from './app/capture_payment.js';
import {ReadPayments} from './app/read_payments.js';
import {RefundPayment} from './app/refund_payment.js';
import {ResolvePendingPayments} from './app/resolve_pending_payments.js';
import {VoidPayment} from './app/void_payment.js';
import {PgPaymentStore} from './infra/pg_payment_store.js';
import {PgSandboxKeyStore} from './infra/pg_sandbox_key_store.js';
import {createSandboxPaymentProvider} from './infra/sandbox_payment_provider.js';
import {paymentEvent} from './events/payment_events.js';
import {createPaymentService} from './rpc/payment_service.js';
import {startPeriodicTask} from '../../common/process/periodic_task.js';

// The migrations run in a child process, so this one never loads MikroORM.
const MIGRATIONS: MigrationModule = {
  service: 'payment',
  module: new URL('./infra/migrations/0001_initial.js', import.meta.url).href,
  exportName:
    'PAYMENT_MIGRATIONS' satisfies keyof typeof import('./infra/migrations/0001_initial.js'),
};

await runService('payment', async ctx => {
  const {env, log, onStop} = ctx;
  // The only provider so far; a real one would be another value here. Chosen before
  // anything is opened: the sandbox refuses AGORA_ENV=production, and then Payment
  // stops at once.
  env.oneOf('AGORA_PAYMENT_PROVIDER', 'sandbox', ['sandbox']);
  const deployment = readDeploymentEnv(env);
  // How long a payment may stay PENDING before the provider is asked what became of
  // it: past the longest an authorization takes here (a provider call and two short
  // transactions), so no request of ours still waits on that provider call.
  const pendingCutoffMs = env.int(
    'AGORA_PAYMENT_PENDING_CUTOFF_MS',
    30_000,
    100,
    3_600_000,
  );
  // How long GetPayment and VoidPayment wait for a fresh PENDING payment's answer (its
  // authorization is in flight and runs to its end) before answering "unknown yet".
  const pendingWaitMs = env.int(
    'AGORA_PAYMENT_PENDING_WAIT_MS',
    1_000,
    0,
    60_000,
  );
  const resolveEveryMs = env.int(
    'AGORA_PAYMENT_RESOLVE_EVERY_MS',
    5_000,
    50,
    600_000,
  );

  const {db, relay} = await openPersistence(ctx, 'payment', MIGRATIONS);
  // The sandbox stands for a remote provider, so it gets connections of its own: on the
  // service's pool, refunds waiting on one payment's row lock can hold every connection
  // while the lock holder waits for one to reach the "provider" (seen as a deadlock
  // with 20 concurrent refunds).
  const sandboxDb = await openDatabase({
    url: ctx.config.databaseUrl,
    schema: 'payment',
    migrations: MIGRATIONS,
    poolSize: 4,
    log,
    timeouts: ctx.config.dbTimeouts,
  });
  onStop.push(() => sandboxDb.close());
  const provider = createSandboxPaymentProvider(
    deployment,
    new PgSandboxKeyStore(sandboxDb),
  );
  log.info('payment provider', {provider: provider.name});
  const store = new PgPaymentStore(db, paymentEvent, () => relay.nudge());

  const clock = {now: () => new Date()};
  const pending = new ResolvePendingPayments(
    store,
    provider,
    clock,
    pendingCutoffMs,
  );
  // Runs never overlap: the next is scheduled when one ends.
  const resolver = startPeriodicTask({
    name: 'pending payment resolution',
    everyMs: resolveEveryMs,
    run: async () => {
      const n = await pending.pass();
      if (n > 0) log.info('resolved pending payments', {count: n});
    },
    log,
  });
  onStop.push(() => resolver.stop());

  const service = createPaymentService({
    authorize: new AuthorizePayment(store, provider, clock),
    capture: new CapturePayment(store, provider, clock),
    void: new VoidPayment(store, provider, clock, pending, pendingWaitMs),
    refund: new RefundPayment(store, provider, clock),
    read: new ReadPayments(store, pending, pendingWaitMs, () =>
      relay.lagSeconds(),
    ),
  });
  return {bindings: [bindService(PaymentService, service)]};
});
