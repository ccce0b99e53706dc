/**
 * Inventory's composition root: configuration, PostgreSQL, Redis, the event bus, the use
 * cases and the RPC handlers, built once here and nowhere else.
 */
import {InventoryService} from '../../../gen/agora/inventory/v1/inventory_service_pb.js';
import {openPersistence} from '../../common/process/persistence.js';
import {runService} from '../../common/process/run_service.js';
import {connectRedis} from '../../common/redis/redis.js';
import {bindService} from '../../common/rpc/http_edge.js';
import {Hub} from '../../common/rpc/streams.js';
import {AdjustStock} from './app/adjust_stock.js';
import {CheckStockMirror} from './app/check_stock_mirror.js';
import {ExpireReservations} from './app/expire_reservations.js';
import {
  CommitReservation,
  ReleaseReservation,
} from './app/finish_reservation.js';
import {ReadStock} from './app/read_stock.js';
import {ReconcileAlerts} from './app/reconcile_alerts.js';
import {ReserveStock} from './app/reserve_stock.js';
import {SetLowStockThreshold} from './app/set_low_stock_threshold.js';
import {PgInventoryStore} from './infra/pg_inventory_store.js';
import {RedisStockMirror} from './infra/redis_stock_mirror.js';
import {createInventoryService} from './rpc/inventory_service.js';
import {isLowStock} from './domain/stock_level.js';
import {alertEvent} from './events/inventory_events.js';
import {LOW_STOCK_TOPIC} from '../../common/messaging/topics.js';
import type {MigrationModule} from '../../common/db/database.js';
import {startPeriodicTask} from '../../common/process/periodic_task.js';

// The migrations run in a child process, so this one never loads MikroORM.
const MIGRATIONS: MigrationModule = {
  service: 'inventory',
  module: new URL('./infra/migrations/index.js', import.meta.url).href,
  exportName:
    'INVENTORY_MIGRATIONS' satisfies keyof typeof import('./infra/migrations/index.js'),
};

await runService('inventory', async ctx => {
  const {config, env, log, onStop, metrics} = ctx;
  const sweepMs = env.int('AGORA_INVENTORY_SWEEP_MS', 1000, 50, 3_600_000);

  const {db, bus, relay} = await openPersistence(ctx, 'inventory', MIGRATIONS);

  const store = new PgInventoryStore(db, alertEvent, () => relay.nudge());
  const redis = connectRedis(
    config.redisUrl,
    log,
    'inventory',
    config.redisTimeouts,
  );
  const subscriber = connectRedis(
    config.redisUrl,
    log,
    'inventory-watch',
    config.redisTimeouts,
  );
  onStop.push(() => void redis.disconnect());
  onStop.push(() => void subscriber.disconnect());
  const mirror = new RedisStockMirror(
    redis,
    subscriber,
    store,
    config.namespace,
    log,
  );
  await mirror.start();
  onStop.push(() => mirror.stop());

  const alertEvents = new Hub<Uint8Array>();
  await bus.subscribe({
    queue: 'inventory.alert-watchers',
    topics: [LOW_STOCK_TOPIC],
    durable: false,
    handle: async event => alertEvents.publish(event.body),
  });

  // Read at scrape time from PostgreSQL, the truth. One series per SKU and warehouse:
  // fine for catalogues of thousands of SKUs; a larger one would export only low ones.
  metrics.gaugeFrom(
    'agora_reservations_open',
    'Active (unexpired, uncommitted) reservations',
    [],
    async () => {
      const [row] = await db.query<{n: string}>(
        "select count(*) as n from reservation where state = 'active'",
      );
      return [{labels: {}, value: Number(row.n)}];
    },
  );
  const levels = async () => store.allLevels();
  metrics.gaugeFrom(
    'agora_stock_available',
    'Units available to reserve',
    ['sku', 'warehouse'],
    async () =>
      (await levels()).map(l => ({
        labels: {sku: l.sku, warehouse: l.warehouseId},
        value: l.onHand - l.reserved,
      })),
  );
  metrics.gaugeFrom(
    'agora_stock_on_hand',
    'Units on hand, reserved included',
    ['sku', 'warehouse'],
    async () =>
      (await levels()).map(l => ({
        labels: {sku: l.sku, warehouse: l.warehouseId},
        value: l.onHand,
      })),
  );
  metrics.gaugeFrom(
    'agora_stock_low',
    '1 while the level is at or below its low-stock threshold',
    ['sku', 'warehouse'],
    async () =>
      (await levels()).map(l => ({
        labels: {sku: l.sku, warehouse: l.warehouseId},
        value: isLowStock(l) ? 1 : 0,
      })),
  );

  const clock = {now: () => new Date()};
  const expire = new ExpireReservations(store, mirror, clock);
  const sweeper = startPeriodicTask({
    name: 'expiry sweep',
    everyMs: sweepMs,
    run: async () => {
      const n = await expire.execute();
      if (n > 0) log.info('reservations expired', {count: n});
    },
    log,
  });
  onStop.push(() => sweeper.stop());
  const reconcile = new ReconcileAlerts(store);
  const reconciler = startPeriodicTask({
    name: 'alert reconcile',
    everyMs: 30_000,
    run: async () => {
      const n = await reconcile.execute();
      if (n > 0) log.info('low-stock alerts reconciled', {count: n});
    },
    log,
  });
  onStop.push(() => reconciler.stop());

  const service = createInventoryService({
    reserve: new ReserveStock(store, mirror, clock),
    commit: new CommitReservation(store, mirror, clock),
    release: new ReleaseReservation(store, mirror, clock),
    adjust: new AdjustStock(store, mirror),
    setThreshold: new SetLowStockThreshold(store, mirror),
    read: new ReadStock(store),
    checkMirror: new CheckStockMirror(store, mirror, () => relay.lagSeconds()),
    watchLevels: (skus, fn) => mirror.watch(skus, fn),
    alertEvents,
  });
  return {bindings: [bindService(InventoryService, service)]};
});
