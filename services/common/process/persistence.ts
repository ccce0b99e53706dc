/**
 * What every service with state opens the same way: its PostgreSQL schema (migrated),
 * the event bus, and the outbox relay between them, each registered for shutdown in the
 * right order (relay stops first, then the bus, then the pool).
 */
import {
  openDatabase,
  type Database,
  type MigrationModule,
} from '../db/database.js';
import {EventBus} from '../messaging/event_bus.js';
import {OutboxRelay} from '../outbox/outbox.js';
import type {BuildContext} from './run_service.js';

export interface Persistence {
  db: Database;
  bus: EventBus;
  /** Publishes what use cases write to the outbox; nudge it after such a commit. */
  relay: OutboxRelay;
}

export async function openPersistence(
  ctx: BuildContext,
  schema: string,
  migrations: MigrationModule,
): Promise<Persistence> {
  const {config, log, onStop, metrics} = ctx;
  const db = await openDatabase({
    url: config.databaseUrl,
    schema,
    migrations,
    poolSize: config.dbPoolSize,
    log,
    timeouts: config.dbTimeouts,
  });
  onStop.push(() => db.close());
  // Without its database a service can answer nothing but UNAVAILABLE.
  ctx.readiness.push({name: 'postgresql', check: ms => db.ping(ms)});
  // Not waiting for the broker: the service can take orders while RabbitMQ is down, and
  // events wait in the outbox.
  const bus = await EventBus.connect(
    config.amqpUrl,
    config.namespace,
    log,
    false,
  );
  onStop.push(() => bus.close());
  const relay = new OutboxRelay(db, bus, log);
  relay.start();
  relay.exposeTo(metrics);
  onStop.push(() => relay.stop());
  return {db, bus, relay};
}
