/**
 * The event bus and the outbox relay against the real RabbitMQ and PostgreSQL: poison
 * and unrecordable events end in the dead letters instead of blocking or vanishing,
 * events no queue is bound for stay in the outbox, a confirm that never comes keeps
 * the row, and `npm run dead-letters` lists and replays. Everything lives under its own
 * namespace (exchange and queues `agora_test_events_<pid>.…`) and its own database.
 */
import {randomUUID} from 'node:crypto';
import {Migration} from '@mikro-orm/migrations';
import amqp from 'amqplib';
import pg from 'pg';
import {
  formatDeadLetters,
  listDeadLetters,
  replayDeadLetters,
} from '../../../deploy/tools/dead_letter_queues.js';
import {openDatabase, type Database} from '../db/database.js';
import {createLogger} from '../log/logger.js';
import {
  EventBus,
  UnrecordableEventError,
  type IncomingEvent,
  type OutgoingEvent,
  type PublishOutcome,
} from '../messaging/event_bus.js';
import {
  allDurableQueues,
  DELIVERY_LIMIT,
  REPORT_ORDER_EVENTS,
} from '../messaging/topics.js';
import {
  appendToOutbox,
  OUTBOX_TABLE_SQL,
  OutboxRelay,
} from '../outbox/outbox.js';
import {OUTBOX_DELIVERY_MIGRATION} from '../outbox/outbox_migration.js';
import {ADMIN_PG, AMQP_URL} from '../testing/isolation.js';

const NS = `agora_test_events_${process.pid}`;
const DATABASE = 'agora_test_events';
const log = createLogger('events-test', 'error', () => {});

class OutboxOnly extends Migration {
  override up(): void {
    this.addSql(OUTBOX_TABLE_SQL);
  }
}

async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise(r => setTimeout(r, 100));
  }
}

function event(topic: string, body: string): OutgoingEvent {
  return {
    topic,
    eventId: randomUUID(),
    type: 'test.Event',
    body: new TextEncoder().encode(body),
  };
}

let db: Database;
let admin: amqp.ChannelModel;
const buses: EventBus[] = [];
const testQueues: string[] = [];

async function bus(retryDelayMs = 20): Promise<EventBus> {
  const b = await EventBus.connect(AMQP_URL, NS, log, true, {retryDelayMs});
  buses.push(b);
  return b;
}

async function messagesIn(queue: string): Promise<number> {
  const channel = await admin.createChannel();
  try {
    return (await channel.checkQueue(`${NS}.${queue}`)).messageCount;
  } finally {
    await channel.close().catch(() => undefined);
  }
}

beforeAll(async () => {
  const client = new pg.Client({connectionString: ADMIN_PG});
  await client.connect();
  await client.query(`drop database if exists "${DATABASE}" with (force)`);
  await client.query(`create database "${DATABASE}"`);
  await client.end();
  const url = new URL(ADMIN_PG);
  url.pathname = `/${DATABASE}`;
  db = await openDatabase({
    url: url.toString(),
    schema: 'events',
    migrations: [{name: '0001', class: OutboxOnly}, OUTBOX_DELIVERY_MIGRATION],
    poolSize: 4,
    log,
  });
  admin = await amqp.connect(AMQP_URL);
});

afterAll(async () => {
  for (const b of buses) await b.close();
  const channel = await admin.createChannel();
  for (const q of [...allDurableQueues(), ...testQueues])
    await channel.deleteQueue(`${NS}.${q}`).catch(() => undefined);
  await channel.deleteExchange(`${NS}.events`).catch(() => undefined);
  await channel.deleteExchange(`${NS}.events.dead`).catch(() => undefined);
  await channel.close().catch(() => undefined);
  await admin.close();
  await db.close();
}, 30_000);

/** A durable consumer queue of its own, with its dead-letter queue. */
function testQueue(name: string): string {
  testQueues.push(name, `${name}.dead`);
  return name;
}

describe('the event bus', () => {
  it('a poison event is dead-lettered after the delivery limit and the consumer keeps consuming', async () => {
    const b = await bus();
    const queue = testQueue('test.poison.q');
    const good: string[] = [];
    const attempts = new Map<string, number>();
    await b.subscribe({
      queue,
      topics: ['test.poison', 'test.good'],
      durable: true,
      handle: async (e: IncomingEvent) => {
        attempts.set(e.eventId, (attempts.get(e.eventId) ?? 0) + 1);
        if (e.topic === 'test.poison') throw new Error('always fails');
        good.push(e.eventId);
      },
    });
    // More poison than the prefetch (64): on the old bus they were requeued forever and
    // the good event behind them was never delivered.
    const poison = Array.from({length: 70}, () => event('test.poison', 'x'));
    const fine = event('test.good', 'ok');
    await b.publish([...poison, fine]);

    await waitFor(() => (good.length > 0 ? true : undefined), 60_000);
    expect(good).toEqual([fine.eventId]);
    await waitFor(
      async () =>
        (await messagesIn(`${queue}.dead`)) === 70 ? true : undefined,
      30_000,
    );
    expect(await messagesIn(queue)).toBe(0);
    // Each poison event had its tries: the limit counts redeliveries after the first.
    for (const p of poison)
      expect(attempts.get(p.eventId)).toBe(DELIVERY_LIMIT + 1);
  }, 90_000);

  it('an unrecordable event is dead-lettered, not acknowledged and lost', async () => {
    const b = await bus();
    const queue = testQueue('test.unrecordable.q');
    let calls = 0;
    await b.subscribe({
      queue,
      topics: ['test.unrecordable'],
      durable: true,
      handle: async () => {
        calls++;
        throw new UnrecordableEventError('cannot be decoded');
      },
    });
    const bad = event('test.unrecordable', 'garbage');
    await b.publish([bad]);
    await waitFor(async () =>
      (await messagesIn(`${queue}.dead`)) === 1 ? true : undefined,
    );
    // At once, not after the delivery limit: every redelivery would fail the same way.
    expect(calls).toBe(1);
    expect(await messagesIn(queue)).toBe(0);
  });
});

describe('the outbox relay', () => {
  beforeEach(async () => {
    await db.execute('delete from outbox');
  });

  it('an event with no bound queue stays in the outbox', async () => {
    const b = await bus();
    const queue = testQueue('test.bound.q');
    const received: string[] = [];
    await b.subscribe({
      queue,
      topics: ['test.bound'],
      durable: true,
      handle: async e => void received.push(e.eventId),
    });
    const lost = event('test.nobody-listens', 'x');
    const delivered = event('test.bound', 'y');
    await db.tx(sql => appendToOutbox(sql, [lost, delivered]));
    const relay = new OutboxRelay(db, b, log, {pollMs: 50});
    relay.start();
    try {
      await waitFor(() => (received.length > 0 ? true : undefined));
      await waitFor(async () => {
        const [row] = await db.query<{attempts: number}>(
          'select attempts from outbox where event_id = $1',
          [lost.eventId],
        );
        return row && row.attempts >= 1 ? row : undefined;
      });
    } finally {
      await relay.stop();
    }
    expect(received).toEqual([delivered.eventId]);
    const rows = await db.query<{event_id: string; next_attempt_at: Date}>(
      'select event_id, next_attempt_at from outbox',
    );
    expect(rows.map(r => r.event_id)).toEqual([lost.eventId]);
    // Tried again later, not on every pass.
    expect(rows[0].next_attempt_at.getTime()).toBeGreaterThan(Date.now());
  });

  it('publisher confirm timeout keeps the row', async () => {
    const b = await bus();
    const queue = testQueue('test.slow-confirm.q');
    const received: string[] = [];
    await b.subscribe({
      queue,
      topics: ['test.slow-confirm'],
      durable: true,
      handle: async e => void received.push(e.eventId),
    });
    // The first publish never hears back from the broker (a confirm lost with a stalled
    // connection); the ones after it go through the real bus.
    let calls = 0;
    const stalling = {
      get connected() {
        return true;
      },
      publish(events: readonly OutgoingEvent[]): Promise<PublishOutcome> {
        calls++;
        return calls === 1 ? new Promise(() => {}) : b.publish(events);
      },
    };
    const e = event('test.slow-confirm', 'z');
    await db.tx(sql => appendToOutbox(sql, [e]));
    const relay = new OutboxRelay(db, stalling, log, {
      pollMs: 50,
      confirmTimeoutMs: 300,
    });
    relay.start();
    try {
      await waitFor(() => (calls >= 1 ? true : undefined));
      // Within the timeout the row is still there, locked by the waiting pass.
      expect(await db.query('select 1 from outbox')).toHaveLength(1);
      await waitFor(() => (received.length > 0 ? true : undefined));
      await waitFor(async () =>
        (await db.query('select 1 from outbox')).length === 0
          ? true
          : undefined,
      );
    } finally {
      await relay.stop();
    }
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(received).toEqual([e.eventId]);
  });
});

describe('npm run dead-letters', () => {
  it('lists the dead letters of a consumer queue and replays them to their original routing key', async () => {
    const b = await bus();
    let failing = true;
    const recorded: string[] = [];
    const handle = async (e: IncomingEvent) => {
      if (failing) throw new UnrecordableEventError('not yet');
      recorded.push(e.eventId);
    };
    await b.subscribe({
      queue: REPORT_ORDER_EVENTS.name,
      topics: REPORT_ORDER_EVENTS.topics,
      durable: true,
      handle,
    });
    const dead = {...event('order.paid', 'not an OrderEvent'), type: 'x.Y'};
    await b.publish([dead]);
    const deadQueue = `${REPORT_ORDER_EVENTS.name}.dead`;
    await waitFor(async () =>
      (await messagesIn(deadQueue)) === 1 ? true : undefined,
    );

    const listed = await listDeadLetters(AMQP_URL, NS);
    const report = listed.find(q => q.queue === REPORT_ORDER_EVENTS.name)!;
    expect(report.count).toBe(1);
    expect(report.letters).toEqual([
      expect.objectContaining({
        eventId: dead.eventId,
        routingKey: 'order.paid',
        exchange: `${NS}.events`,
        reason: 'rejected',
        count: 1,
        type: 'x.Y',
        head: Buffer.from('not an OrderEven').toString('hex'), // first 16 bytes
        size: 17,
      }),
    ]);
    expect(formatDeadLetters(listed)).toContain(
      `${REPORT_ORDER_EVENTS.name}: 1 dead letter\n  ${dead.eventId}  order.paid  rejected x1  x.Y`,
    );
    // Listing leaves them where they are.
    expect(await messagesIn(deadQueue)).toBe(1);

    failing = false; // the consumer was fixed
    expect(
      await replayDeadLetters(AMQP_URL, NS, REPORT_ORDER_EVENTS.name),
    ).toBe(1);
    await waitFor(() => (recorded.length > 0 ? true : undefined));
    expect(recorded).toEqual([dead.eventId]);
    expect(await messagesIn(deadQueue)).toBe(0);
  });
});
