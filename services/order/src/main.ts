/**
 * Order's composition root.
 */
import {InventoryService} from '../../../gen/agora/inventory/v1/inventory_service_pb.js';
import {OrderService} from '../../../gen/agora/order/v1/order_service_pb.js';
import {PaymentService} from '../../../gen/agora/payment/v1/payment_service_pb.js';
import {PricingService} from '../../../gen/agora/pricing/v1/pricing_service_pb.js';
import {startServiceTokens} from '../../common/auth/service_tokens.js';
import {ConfigError} from '../../common/config/env.js';
import {peerAddress} from '../../common/config/service_config.js';
import {Bulkhead} from '../../common/concurrency/bulkhead.js';
import {openPersistence} from '../../common/process/persistence.js';
import {ALL_ORDER_TOPICS} from '../../common/messaging/topics.js';
import {runService} from '../../common/process/run_service.js';
import {createGrpcClient} from '../../common/rpc/grpc_client.js';
import {bindService} from '../../common/rpc/http_edge.js';
import {Hub} from '../../common/rpc/streams.js';
import {AfterSale} from './app/after_sale.js';
import {PlaceOrder} from './app/place_order.js';
import {ReadOrders} from './app/read_orders.js';
import {purchaseSteps} from './app/purchase_steps.js';
import {DEFAULT_RECOVERY_POLICY, RecoverOrders} from './app/recover_orders.js';
import {
  DEFAULT_RECONCILE_POLICY,
  Reconcile,
  type ReconciliationReport,
} from './app/reconcile.js';
import {startPeriodicTask} from '../../common/process/periodic_task.js';
import {DRIFT_KINDS} from './domain/reconciliation.js';
import {GrpcReconcileSources} from './infra/clients/grpc_reconcile_sources.js';
import {PgReconcileStore} from './infra/pg_reconcile_store.js';
import {outsideCallDeadline} from '../../common/rpc/call_deadline.js';
import {randomUUID} from 'node:crypto';
import {
  GrpcInventoryGateway,
  GrpcPaymentGateway,
  GrpcPricingGateway,
} from './infra/clients/grpc_gateways.js';
import {PgOrderStore} from './infra/pg_order_store.js';
import {orderEvent} from './events/order_events.js';
import {createOrderService} from './rpc/order_service.js';
import type {Order} from './domain/order.js';
import type {MigrationModule} from '../../common/db/database.js';

// The migrations run in a child process, so this one never loads MikroORM.
const MIGRATIONS: MigrationModule = {
  service: 'order',
  module: new URL('./infra/migrations/0001_initial.js', import.meta.url).href,
  exportName:
    'ORDER_MIGRATIONS' satisfies keyof typeof import('./infra/migrations/0001_initial.js'),
};

await runService('order', async ctx => {
  const {env, log, onStop, metrics} = ctx;
  const recoverEveryMs = env.int(
    'AGORA_ORDER_RECOVERY_MS',
    1_000,
    100,
    3_600_000,
  );
  // The sagas of a process that stopped heartbeating this long are settled by others.
  const ownerGoneMs = env.int(
    'AGORA_ORDER_OWNER_GONE_MS',
    5_000,
    500,
    3_600_000,
  );
  const parkAfter = env.int('AGORA_ORDER_RECOVERY_ATTEMPTS', 12, 1, 1000);
  const abandonedAfterMs = env.int(
    'AGORA_ORDER_ABANDONED_MS',
    120_000,
    1000,
    86_400_000,
  );
  const maxSagas = env.int('AGORA_ORDER_MAX_SAGAS', 64, 1, 10_000);
  const maxQueued = env.int('AGORA_ORDER_MAX_QUEUED', 10_000, 0, 1_000_000);
  const callTimeoutMs = env.int(
    'AGORA_ORDER_CALL_TIMEOUT_MS',
    10_000,
    100,
    120_000,
  );
  // After-sale (cancel, refund) holds the order's row lock while it calls Payment and
  // Inventory, so its transaction sits idle for at least one call's timeout. PostgreSQL
  // ending that session sooner would fail every slow after-sale; refuse the setting.
  // A cancel with many lines can still idle longer than the bound (one call per line,
  // no statement in between): then the session is ended, the transaction rolls back
  // and the caller gets UNAVAILABLE; every call used an id derived from the order, so
  // the retry repeats no refund and no restock.
  const idleMs = ctx.config.dbTimeouts.idleInTransactionMs;
  if (idleMs !== 0 && idleMs <= 2 * callTimeoutMs) {
    throw new ConfigError(
      'AGORA_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS',
      `must be 0 or more than twice AGORA_ORDER_CALL_TIMEOUT_MS (${callTimeoutMs}): after-sale holds a transaction open across a refund and a restock call`,
      String(idleMs),
    );
  }

  const {db, bus, relay} = await openPersistence(ctx, 'ordering', MIGRATIONS);
  // This process's identity as the owner of the sagas it starts; a restart is a new
  // owner, so the sagas a killed process left behind are settled within seconds.
  const instanceId = `order-${randomUUID()}`;
  const store = new PgOrderStore(
    db,
    orderEvent,
    () => relay.nudge(),
    instanceId,
  );
  await store.heartbeat();
  const heartbeat = startPeriodicTask({
    name: 'saga owner heartbeat',
    everyMs: Math.max(100, Math.floor(ownerGoneMs / 4)),
    run: () => store.heartbeat(),
    log,
  });
  onStop.push(() => heartbeat.stop());

  // Every call to Pricing, Inventory and Payment carries the Order service's identity:
  // its certificate under mutual TLS, else a short-lived service token.
  const tokens = ctx.tls ? undefined : await startServiceTokens(ctx.config);
  if (tokens) onStop.push(() => tokens.stop());
  const clientOptions = {
    defaultTimeoutMs: callTimeoutMs,
    authorization: tokens ? () => tokens.current() : undefined,
    tls: ctx.tls,
  };
  const pricingClient = createGrpcClient(
    PricingService,
    peerAddress('pricing', env),
    clientOptions,
  );
  const inventoryClient = createGrpcClient(
    InventoryService,
    peerAddress('inventory', env),
    clientOptions,
  );
  const paymentClient = createGrpcClient(
    PaymentService,
    peerAddress('payment', env),
    clientOptions,
  );
  onStop.push(() => pricingClient.close());
  onStop.push(() => inventoryClient.close());
  onStop.push(() => paymentClient.close());
  const pricing = new GrpcPricingGateway(pricingClient);
  const inventory = new GrpcInventoryGateway(inventoryClient);
  const payment = new GrpcPaymentGateway(paymentClient);

  const clock = {now: () => new Date()};
  // A reservation outlives the longest saga (three calls and the undo's retries) a
  // little, so a reserve whose answer was lost never holds stock for long.
  const steps = purchaseSteps({
    inventory,
    payment,
    reservationTtlMs: 4 * callTimeoutMs + 5_000,
  });
  const parked = metrics.counter(
    'agora_orders_recovery_parked_total',
    'Orders recovery gave up on after repeated failures (an operator must look)',
    [],
  );
  metrics.gaugeFrom(
    'agora_orders_recovery_parked',
    'Orders parked by recovery, waiting for an operator',
    [],
    async () => [{labels: {}, value: await store.parkedCount()}],
  );
  metrics.gaugeFrom(
    'agora_after_sale_intents',
    'Cancels and refunds accepted and not yet done (a call died halfway; the sweep finishes them)',
    ['measure'],
    async () => {
      const backlog = await store.intentBacklog();
      return [
        {labels: {measure: 'count'}, value: backlog.count},
        {labels: {measure: 'oldest_seconds'}, value: backlog.oldestSeconds},
      ];
    },
  );
  const recovery = new RecoverOrders(
    store,
    steps,
    clock,
    log,
    {
      ...DEFAULT_RECOVERY_POLICY,
      ownerGoneMs,
      abandonedAfterMs,
      maxAttempts: parkAfter,
    },
    () => parked.inc({}),
  );
  const afterSale = new AfterSale(store, inventory, payment, clock, log);
  // A restarted process settles what its predecessor left at once. Each task's next
  // pass is scheduled when one ends, so passes never overlap.
  const recoveryTask = startPeriodicTask({
    name: 'order recovery pass',
    everyMs: recoverEveryMs,
    firstAfterMs: 0,
    run: () => recovery.execute(),
    log,
  });
  // The cancels and refunds that calls left behind (after_sale.ts).
  const afterSaleTask = startPeriodicTask({
    name: 'after-sale sweep',
    everyMs: recoverEveryMs,
    firstAfterMs: 0,
    run: () => afterSale.resume(),
    log,
  });
  onStop.push(() => {
    recoveryTask.stop();
    afterSaleTask.stop();
  });

  const events = new Hub<Uint8Array>();
  await bus.subscribe({
    queue: 'order.event-watchers',
    topics: [ALL_ORDER_TOPICS],
    durable: false,
    handle: async event => events.publish(event.body),
  });

  const sagas = new Bulkhead('placing orders', maxSagas, maxQueued);
  metrics.gaugeFrom(
    'agora_sagas_in_flight',
    'Purchase sagas running',
    [],
    async () => [{labels: {}, value: sagas.inFlight}],
  );
  metrics.gaugeFrom(
    'agora_sagas_queued',
    'CreateOrder calls waiting for a saga slot',
    [],
    async () => [{labels: {}, value: sagas.queued}],
  );
  const orders = metrics.counter(
    'agora_orders_total',
    'Orders placed, by outcome',
    ['outcome'],
  );
  const outcome = (order: Order) =>
    orders.inc({
      outcome:
        order.state === 'paid'
          ? 'paid'
          : `failed_${order.failureReason ?? 'internal'}`,
    });
  // Continuous reconciliation: every minute (one pass at a time across replicas), and on
  // demand by the Reconcile RPC. The gauges show this replica's last pass.
  const reconcileEveryMs = env.int(
    'AGORA_ORDER_RECONCILE_MS',
    60_000,
    1_000,
    86_400_000,
  );
  const reconcilePolicy = {
    ...DEFAULT_RECONCILE_POLICY,
    windowMs: env.int(
      'AGORA_ORDER_RECONCILE_WINDOW_MS',
      DEFAULT_RECONCILE_POLICY.windowMs,
      60_000,
      366 * 86_400_000,
    ),
    settleMs: env.int(
      'AGORA_ORDER_RECONCILE_SETTLE_MS',
      DEFAULT_RECONCILE_POLICY.settleMs,
      0,
      3_600_000,
    ),
  };
  let lastReport: ReconciliationReport | undefined;
  const repairsTotal = metrics.counter(
    'agora_reconcile_repairs_total',
    'Repairs made or tried by reconciliation, by kind of discrepancy and outcome',
    ['kind', 'outcome'],
  );
  metrics.gaugeFrom(
    'agora_reconcile_drift',
    "Discrepancies found by this replica's last reconciliation pass, by kind",
    ['kind'],
    async () =>
      lastReport
        ? DRIFT_KINDS.map(kind => ({
            labels: {kind},
            value: lastReport!.discrepancies.filter(d => d.kind === kind)
              .length,
          }))
        : [],
  );
  metrics.gaugeFrom(
    'agora_reconcile_last_pass_timestamp_seconds',
    "When this replica's last reconciliation pass ended",
    [],
    async () =>
      lastReport
        ? [{labels: {}, value: lastReport.endedAt.getTime() / 1000}]
        : [],
  );
  const reconcile = new Reconcile(
    new PgReconcileStore(db, () => relay.lagSeconds()),
    new GrpcReconcileSources(paymentClient, inventoryClient),
    payment,
    inventory,
    clock,
    instanceId,
    reconcilePolicy,
    report => {
      lastReport = report;
      for (const r of report.repairs)
        repairsTotal.inc({kind: r.kind, outcome: r.outcome});
      if (report.discrepancies.length > 0) {
        log.warn('reconciliation found drift', {
          discrepancies: report.discrepancies.length,
          repairs: report.repairs.length,
        });
      }
    },
  );
  const reconciler = startPeriodicTask({
    name: 'reconciliation pass',
    everyMs: reconcileEveryMs,
    run: () => reconcile.periodic(),
    log,
  });
  onStop.push(() => reconciler.stop());

  const service = createOrderService({
    reconcile,
    place: new PlaceOrder(store, pricing, steps, clock, log, {
      onOutcome: outcome,
      admission: sagas,
      detach: outsideCallDeadline,
    }),
    read: new ReadOrders(store),
    afterSale,
    events,
  });
  return {bindings: [bindService(OrderService, service)]};
});
