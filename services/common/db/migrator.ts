/**
 * Runs a service's pending migrations with MikroORM's migrator. Only this module (and
 * the migration classes) load MikroORM: a service runs it in a short-lived child process
 * (migrate_main.ts), so the serving process never carries the ORM's code and heap
 * (~9 MB of heap and ~20 MB of RSS per service, measured) for the rest of its life.
 * Tests that define their migrations inline run it in their own process.
 */
import {MikroORM} from '@mikro-orm/postgresql';
import {Migrator, type Migration} from '@mikro-orm/migrations';
import pg from 'pg';
import type {Logger} from '../log/logger.js';

export type MigrationClass = new (...args: never[]) => Migration;
export type MigrationList = Array<{name: string; class: MigrationClass}>;

/** What the migration child (migrate_main.ts) is told, in AGORA_MIGRATE_SPEC. */
export interface MigrateSpec {
  service: string;
  url: string;
  schema: string;
  /** A file: URL of the module that exports the list. */
  module: string;
  exportName: string;
  acquireMs: number;
}

/** Runs pending migrations as the role of `url`, which must own (or may create) the schema. */
export async function runMigrations(
  url: string,
  schema: string,
  migrations: MigrationList,
  acquireMs: number,
  log: Logger,
): Promise<void> {
  // Replicas start together during a deploy: a session advisory lock keyed by the schema
  // name makes the second one wait, then find nothing left to run. It is held on a
  // connection of its own because the migrator opens its own connections. Advisory
  // locks need no privilege; `create schema` needs CREATE on the database, which only
  // the owner role has (a no-op where the schema exists, but checked all the same).
  const lock = new pg.Client({connectionString: url});
  // Its failure surfaces as the rejected query; an 'error' event alone would crash.
  lock.on('error', () => undefined);
  await lock.connect();
  try {
    const key = `agora-migrate:${schema}`;
    await lock.query('select pg_advisory_lock(hashtext($1))', [key]);
    await lock.query(`create schema if not exists "${schema}"`);
    const orm = await MikroORM.init({
      clientUrl: url,
      schema,
      entities: [],
      discovery: {warnWhenNoEntities: false},
      extensions: [Migrator],
      pool: {min: 0, max: 2},
      // MikroORM 7's PoolConfig has no acquire timeout; driverOptions are merged into
      // the options of its pg Pool. No statement timeout here: a migration may
      // legitimately run long (an index build), and it runs before the service serves.
      driverOptions: {connectionTimeoutMillis: acquireMs},
      migrations: {
        tableName: 'schema_migrations',
        schema,
        migrationsList: migrations.map(m => ({
          name: m.name,
          class: m.class as never,
        })),
        transactional: true,
        allOrNothing: true,
        snapshot: false,
        silent: true,
      },
      debug: false,
    });
    try {
      const applied = await orm.migrator.up({schema});
      if (applied.length > 0) {
        log.info('migrations applied', {
          schema,
          migrations: applied.map(m => m.name).join(','),
        });
      }
    } finally {
      await orm.close();
    }
    await lock.query('select pg_advisory_unlock(hashtext($1))', [key]);
  } finally {
    await lock.end();
  }
}
