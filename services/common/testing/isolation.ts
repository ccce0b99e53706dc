/**
 * A clean, private environment for a test or a benchmark run: its own database (dropped
 * and created), no Redis keys under its namespace, and none of the durable queues a
 * previous run of the same name left behind. Runs never touch `npm start` data.
 *
 * The database is set up as `agora` is (service_roles.sql): its five schemas owned by
 * agora_owner, each service's role limited to its own. The launchers (startMesh, the
 * replica set) start each service as its role and migrate as the owner; `databaseUrl`
 * stays the superuser's, for tests that look at every schema.
 */
import amqp from 'amqplib';
import {Redis} from 'ioredis';
import pg from 'pg';
import {redactUrl} from '../config/env.js';
import {applyServiceRoles} from '../db/service_roles.js';
import {allDurableQueues} from '../messaging/topics.js';

export const ADMIN_PG =
  process.env.AGORA_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL =
  process.env.AGORA_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';
export const AMQP_URL =
  process.env.AGORA_TEST_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * Durable queues Agora services declare (without the namespace prefix), and the classic
 * queues of the same consumers from before quorum queues, which older runs left.
 */
const DURABLE_QUEUES = [
  ...allDurableQueues(),
  'report.order-events',
  'pricing.demand',
];

export interface Isolated {
  databaseUrl: string;
  namespace: string;
  /** The AGORA_* variables that point a service at this environment. */
  env: Record<string, string>;
}

export async function freshEnvironment(
  database: string,
  namespace: string,
): Promise<Isolated> {
  const url = new URL(ADMIN_PG);
  url.pathname = `/${database}`;
  const admin = new pg.Client({connectionString: ADMIN_PG});
  const fresh = new pg.Client({connectionString: url.toString()});
  try {
    await admin.connect();
    await admin.query(`drop database if exists "${database}" with (force)`);
    await admin.query(`create database "${database}"`);
    await fresh.connect();
    await applyServiceRoles(fresh);
  } catch (err) {
    throw new Error(
      `cannot create the test database ${database} through ${redactUrl(ADMIN_PG)} (AGORA_TEST_PG): ${err instanceof Error ? err.message : String(err)}`,
      {cause: err},
    );
  } finally {
    await fresh.end().catch(() => undefined);
    await admin.end().catch(() => undefined);
  }

  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${namespace}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();

  const connection = await amqp.connect(AMQP_URL);
  try {
    for (const queue of DURABLE_QUEUES) {
      const channel = await connection.createChannel();
      await channel.deleteQueue(`${namespace}.${queue}`).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
  const databaseUrl = url.toString();
  return {
    databaseUrl,
    namespace,
    env: {
      AGORA_DATABASE_URL: databaseUrl,
      AGORA_REDIS_URL: REDIS_URL,
      AGORA_AMQP_URL: AMQP_URL,
      AGORA_NAMESPACE: namespace,
    },
  };
}
