/**
 * PostgreSQL access for one service: its own schema, migrations run on start through
 * MikroORM's migrator (in a child process: migrator.ts), and a small SQL surface (`Sql`)
 * on node-postgres for repositories.
 *
 * One schema per service (inventory, pricing, ordering, payment, report) in one database:
 * services never read each other's tables, and each could move to its own server by
 * changing AGORA_DATABASE_URL.
 *
 * Two roles per service (see service_roles.sql and deploy/compose/postgres-init/): the
 * migrations connect as the owner of the schemas (AGORA_MIGRATION_DATABASE_URL), the
 * pool as the service's own role, which can read and write its tables and nothing more
 * (no CREATE, no other schema). With one URL both are the same role, as on a dev
 * machine's superuser.
 *
 * Why repositories speak SQL through node-postgres rather than MikroORM's EntityManager:
 * the correctness of stock and money rests on single conditional UPDATEs (`… where
 * available >= $1`) whose row counts we must see, and MikroORM 7's `execute` interpolates
 * parameters into the SQL text on the client (arrays become lists), which is slower and
 * cannot bind an array to `= any($1)`. Repositories map rows to domain objects in one
 * place each; every use case runs in exactly one transaction (`tx`).
 */
import {spawn} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import pg from 'pg';
import {redactUrl} from '../config/env.js';
import type {Logger} from '../log/logger.js';
import type {MigrateSpec, MigrationList} from './migrator.js';
import {DEFAULT_DB_TIMEOUTS, type DatabaseTimeouts} from './timeouts.js';

export {DEFAULT_DB_TIMEOUTS, type DatabaseTimeouts};

// NUMERIC (1700) and INT8 (20) stay strings: money must never pass through a JS number,
// and counts are converted explicitly where they are known to be small.
pg.types.setTypeParser(1700, v => v);
pg.types.setTypeParser(20, v => v);

/** Runs parameterized statements ($1, $2, …) in the current transaction. */
export interface Sql {
  query<T = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<T[]>;
  /** Row count of an UPDATE/DELETE without RETURNING. */
  execute(text: string, params?: readonly unknown[]): Promise<number>;
}

export interface Database extends Sql {
  readonly schema: string;
  /**
   * Runs `work` in one transaction. Serialization failures and deadlocks (which
   * PostgreSQL resolves by aborting one side) are retried up to 3 times.
   */
  tx<T>(work: (sql: Sql) => Promise<T>): Promise<T>;
  /**
   * Resolves when PostgreSQL answered `select 1` within `timeoutMs` (a connection from
   * the pool, so a full pool counts as not ready too), rejects otherwise: the readiness
   * probe.
   */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Where a service's migration list lives: the module (a file: URL) and its export. The
 * list runs in a child process, so the service never loads MikroORM (migrator.ts).
 */
export interface MigrationModule {
  module: string;
  exportName: string;
  /** The service the migrations belong to (their log lines carry it). */
  service: string;
}

/** The two connections of a service's database (ServiceConfig.databaseUrl). */
export interface DatabaseUrls {
  /** The pool's: the service's own role, which reads and writes its tables. */
  runtime: string;
  /** The migrations': the owner of the schema (may be the same URL). */
  migration: string;
}

export interface DatabaseOptions {
  /** One URL for the pool and the migrations, or one each. */
  url: string | DatabaseUrls;
  /** PostgreSQL schema owned by the service. */
  schema: string;
  /** A list (runs in this process: tests) or the module of one (runs in a child). */
  migrations: MigrationList | MigrationModule;
  poolSize: number;
  log: Logger;
  /** DEFAULT_DB_TIMEOUTS when absent. */
  timeouts?: DatabaseTimeouts;
}

const RETRYABLE = new Set(['40001', '40P01']);

/** Connects, creates the schema and runs pending migrations (serialized across replicas). */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const urls =
    typeof opts.url === 'string'
      ? {runtime: opts.url, migration: opts.url}
      : opts.url;
  await ensureDatabase(urls.migration);
  await migrate(urls.migration, opts);
  const t = opts.timeouts ?? DEFAULT_DB_TIMEOUTS;
  const pool = new pg.Pool({
    connectionString: urls.runtime,
    max: opts.poolSize,
    // Unqualified table names resolve to the service's schema only; the time bounds
    // are session settings, so they hold for every statement on every connection.
    options: [
      `-c search_path="${opts.schema}"`,
      `-c statement_timeout=${t.statementMs}`,
      `-c lock_timeout=${t.lockMs}`,
      `-c idle_in_transaction_session_timeout=${t.idleInTransactionMs}`,
    ].join(' '),
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: t.acquireMs,
    // A server that vanished without closing the socket (a cut network) is noticed by
    // the client too: the statement timeout runs on the server, which may never answer.
    query_timeout: t.statementMs > 0 ? t.statementMs + 5_000 : undefined,
    keepAlive: true,
  });
  // An idle connection that PostgreSQL ends (pg_terminate_backend, a restart) is
  // dropped from the pool here; the next query opens a fresh one.
  pool.on('error', err =>
    opts.log.warn('idle database connection failed', {reason: err.message}),
  );
  // pg-pool listens for a client's errors only while the client is idle, and a
  // promise-based checkout leaves a gap between its hand-over and the caller's next
  // line: a server message that ends the session in the same socket read as the
  // connection's ReadyForQuery (a terminated backend, seen under load) is emitted in
  // that gap, with no listener, and crashed the process. So every connection gets a
  // listener for its whole life; the failed statement reports the error to its caller
  // and pg-pool drops the connection when it is released.
  pool.on('connect', client => client.on('error', () => undefined));
  const on = (client: pg.Pool | pg.PoolClient): Sql => ({
    query: async <T>(text: string, params: readonly unknown[] = []) =>
      (await client.query(text, params as unknown[])).rows as T[],
    execute: async (text: string, params: readonly unknown[] = []) =>
      (await client.query(text, params as unknown[])).rowCount ?? 0,
  });
  const tx = async <T>(work: (sql: Sql) => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const client = await pool.connect();
      // pg-pool listens for errors of idle connections only: a connection checked out
      // for a transaction that PostgreSQL ends between two statements (while the use
      // case awaits a remote call, say) emits 'error' with no listener, which crashed
      // the process. The next statement fails instead, and release(err) drops it.
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken = err;
        opts.log.warn('database connection lost in a transaction', {
          reason: err.message,
        });
      };
      client.on('error', onError);
      const release = () => {
        client.off('error', onError);
        client.release(broken);
      };
      try {
        await client.query('begin');
        const result = await work(on(client));
        await client.query('commit');
        release();
        return result;
      } catch (err) {
        if (!broken) await client.query('rollback').catch(() => undefined);
        release();
        const code = (err as {code?: string}).code;
        if (!code || !RETRYABLE.has(code) || attempt >= 3) throw err;
      }
    }
  };
  const ping = async (timeoutMs: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const query = pool.query('select 1');
    try {
      await Promise.race([
        query,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      // A query that lost the race still settles later; nobody waits for it.
      query.catch(() => undefined);
    }
  };
  return {
    schema: opts.schema,
    ...on(pool),
    tx,
    ping,
    close: () => pool.end(),
  };
}

/** Runs pending migrations as the role of `url`, which must own (or may create) the schema. */
async function migrate(url: string, opts: DatabaseOptions): Promise<void> {
  const acquireMs = (opts.timeouts ?? DEFAULT_DB_TIMEOUTS).acquireMs;
  if (Array.isArray(opts.migrations)) {
    const {runMigrations} = await import('./migrator.js');
    return runMigrations(
      url,
      opts.schema,
      opts.migrations,
      acquireMs,
      opts.log,
    );
  }
  const spec: MigrateSpec = {
    ...opts.migrations,
    url,
    schema: opts.schema,
    acquireMs,
  };
  const entry = fileURLToPath(new URL('./migrate_main.js', import.meta.url));
  const child = spawn(process.execPath, [entry], {
    env: {...process.env, AGORA_MIGRATE_SPEC: JSON.stringify(spec)},
    // Its log lines are the service's own; its stderr is the reason of a failure.
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) {
    const reason = stderr.trim().split('\n').pop() || `exit code ${code}`;
    throw new Error(`migrations of schema ${opts.schema} failed: ${reason}`);
  }
}

/**
 * Creates the database named in `url` when it does not exist yet (first start), as the
 * role of `url`. A role that may not create databases (the owner role of a deployment:
 * its database is created beforehand, by deploy/local/infra.sh locally) gets a message
 * that says so rather than "permission denied".
 */
async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({connectionString: admin.toString()});
  client.on('error', () => undefined);
  await client.connect();
  try {
    const found = await client.query(
      'select 1 from pg_database where datname = $1',
      [name],
    );
    if (found.rowCount === 0) {
      await client
        .query(`create database "${name.replace(/"/g, '""')}"`)
        .catch(err => {
          // Another service created it between our check and our create: 42P04, or
          // 23505 when both inserts into pg_database race.
          const code = (err as {code?: string}).code;
          if (code === '42P04' || code === '23505') return;
          if (code === '42501') {
            throw new Error(
              `database ${name} does not exist and ${redactUrl(url)} may not create it: create it first (locally: bash deploy/local/infra.sh)`,
              {cause: err},
            );
          }
          throw err;
        });
    }
  } finally {
    await client.end();
  }
}

/** True when `err` is a unique violation (optionally of the named constraint). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as {code?: string; constraint?: string};
  return (
    e?.code === '23505' &&
    (constraint === undefined || e.constraint === constraint)
  );
}
