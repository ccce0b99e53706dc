/**
 * PgOrderStore on the real PostgreSQL (Order's own migrations, a database of its own):
 * the recovery lease, which only SQL can show.
 */
import {randomUUID} from 'node:crypto';
import {openDatabase, type Database} from '../../common/db/database.js';
import {createLogger} from '../../common/log/logger.js';
import {Money} from '../../common/money/money.js';
import {freshEnvironment} from '../../common/testing/isolation.js';
import {Order} from '../src/domain/order.js';
import {PgOrderStore} from '../src/infra/pg_order_store.js';
import {ORDER_MIGRATIONS} from '../src/infra/migrations/0001_initial.js';
import type {RecoveryQuery} from '../src/app/ports.js';

const NAME = 'pg_order_store';
const isolated = await freshEnvironment(
  `agora_test_${NAME}`,
  `agoratest-${NAME}`,
);
const db: Database = await openDatabase({
  url: isolated.databaseUrl,
  schema: 'ordering',
  migrations: ORDER_MIGRATIONS,
  poolSize: 4,
  log: createLogger('test', 'error', () => {}),
});
afterAll(() => db.close());

const noEvents = () => ({
  topic: 'test',
  eventId: randomUUID(),
  type: 'test',
  body: new Uint8Array(),
});
const replicaA = new PgOrderStore(db, noEvents, () => {}, 'order-a');
const replicaB = new PgOrderStore(db, noEvents, () => {}, 'order-b');

const QUERY: RecoveryQuery = {
  ownerGoneMs: 5_000,
  abandonedAfterMs: 120_000,
  leaseMs: 60_000,
  limit: 10,
};

async function interruptedOrder(): Promise<Order> {
  const usd = (a: string) => Money.parse(a, 'USD');
  const order = Order.place({
    id: randomUUID(),
    requestId: randomUUID(),
    customerId: 'alice',
    lines: [
      {sku: 'A', quantity: 1, unitPrice: usd('1.00'), lineTotal: usd('1.00')},
    ],
    quoteId: 'q',
    paymentId: randomUUID(),
    reservationId: randomUUID(),
    fingerprint: 'f',
    createdAt: new Date(),
  });
  expect(await replicaA.insert(order)).toBe(true);
  await replicaA.disown(order.id); // its saga stopped: recovery's from now on
  return order;
}

describe('PgOrderStore recovery lease', () => {
  it('recovery has a lease: a claimed order is not claimed by another replica while its claimant heartbeats, and is free at once when the claimant stops heartbeating (not after the whole lease)', async () => {
    await replicaA.heartbeat();
    await replicaB.heartbeat();
    const order = await interruptedOrder();

    const claimedByA = await replicaA.claimRecovery(QUERY);
    expect(claimedByA.map(c => c.order.id)).toEqual([order.id]);
    expect(await replicaB.claimRecovery(QUERY)).toEqual([]);

    // Replica A is killed mid-pass: its heartbeat ages past ownerGoneMs.
    await db.execute(
      "update saga_owner set heartbeat_at = now() - interval '1 minute' where instance_id = 'order-a'",
    );
    const claimedByB = await replicaB.claimRecovery(QUERY);
    expect(claimedByB.map(c => c.order.id)).toEqual([order.id]);
    expect(await replicaA.claimRecovery(QUERY)).toEqual([]); // B holds it now

    await replicaB.recoverySucceeded(order.id);
    const [row] = await db.query<{lease_until: Date | null; lease_owner: null}>(
      'select lease_until, lease_owner from customer_order where order_id = $1',
      [order.id],
    );
    expect(row).toEqual({lease_until: null, lease_owner: null});
  });
});
