/**
 * Pricing's composition root.
 */
import {PricingService} from '../../../gen/agora/pricing/v1/pricing_service_pb.js';
import {
  PRICE_CHANGED_TOPIC,
  PRICING_DEMAND,
} from '../../common/messaging/topics.js';
import {openPersistence} from '../../common/process/persistence.js';
import {runService} from '../../common/process/run_service.js';
import {connectRedis} from '../../common/redis/redis.js';
import {bindService} from '../../common/rpc/http_edge.js';
import {Hub} from '../../common/rpc/streams.js';
import {ManageRules} from './app/manage_rules.js';
import {QuotePrices} from './app/quote_prices.js';
import {RecordSale} from './app/record_sale.js';
import {Reprice} from './app/reprice.js';
import {SetBasePrice} from './app/set_base_price.js';
import {PgPricingStore} from './infra/pg_pricing_store.js';
import {RedisStockSignals} from './infra/redis_stock_signals.js';
import {saleFromEvent, salesFromOrderEvents} from './events/order_events.js';
import {priceChangedEvent} from './events/pricing_events.js';
import {createPricingService} from './rpc/pricing_service.js';
import type {MigrationModule} from '../../common/db/database.js';
import {startPeriodicTask} from '../../common/process/periodic_task.js';

// The migrations run in a child process, so this one never loads MikroORM.
const MIGRATIONS: MigrationModule = {
  service: 'pricing',
  module: new URL('./infra/migrations/0001_initial.js', import.meta.url).href,
  exportName:
    'PRICING_MIGRATIONS' satisfies keyof typeof import('./infra/migrations/0001_initial.js'),
};

await runService('pricing', async ctx => {
  const {config, env, log, onStop} = ctx;
  const quoteValidMs = env.int(
    'AGORA_PRICING_QUOTE_TTL_MS',
    15 * 60 * 1000,
    1000,
    86_400_000,
  );
  const demandRefreshMs = env.int(
    'AGORA_PRICING_DEMAND_REFRESH_MS',
    10_000,
    100,
    3_600_000,
  );

  const {db, bus, relay} = await openPersistence(ctx, 'pricing', MIGRATIONS);

  const store = new PgPricingStore(db, priceChangedEvent, () => relay.nudge());
  const redis = connectRedis(
    config.redisUrl,
    log,
    'pricing',
    config.redisTimeouts,
  );
  const subscriber = connectRedis(
    config.redisUrl,
    log,
    'pricing-stock',
    config.redisTimeouts,
  );
  onStop.push(() => void redis.disconnect());
  onStop.push(() => void subscriber.disconnect());
  const signals = new RedisStockSignals(redis, config.namespace, log);
  onStop.push(() => signals.stop());

  const clock = {now: () => new Date()};
  const reprice = new Reprice(store, signals, clock);
  const recordSale = new RecordSale(store, reprice);

  await signals.listen(subscriber, async skus => {
    await reprice.afterStockMoved(skus);
  });
  const demand = startPeriodicTask({
    name: 'demand reprice',
    everyMs: demandRefreshMs,
    run: () => reprice.refreshDemand(),
    log,
  });
  onStop.push(() => demand.stop());

  await bus.subscribe({
    queue: PRICING_DEMAND.name,
    topics: PRICING_DEMAND.topics,
    durable: true,
    handle: event => recordSale.executeAll([saleFromEvent(event)]),
    handleBatch: events => recordSale.executeAll(salesFromOrderEvents(events)),
  });
  const priceChanges = new Hub<Uint8Array>();
  await bus.subscribe({
    queue: 'pricing.price-watchers',
    topics: [PRICE_CHANGED_TOPIC],
    durable: false,
    handle: async event => priceChanges.publish(event.body),
  });

  const service = createPricingService({
    setBasePrice: new SetBasePrice(store, reprice, clock),
    quotes: new QuotePrices(store, clock, quoteValidMs),
    rules: new ManageRules(store, reprice, clock),
    store,
    priceChanges,
  });
  return {bindings: [bindService(PricingService, service)]};
});
