/**
 * Reading and replaying the dead letters of the event bus (`npm run dead-letters`).
 *
 * Each consumer queue of topics.ts has a `<queue>.dead` queue bound to the dead-letter
 * exchange: a message lands there when its handler rejected it as unrecordable or it
 * reached the queue's delivery limit. The broker records why in the message's `x-death`
 * header, with the exchange and routing key it was first published to.
 *
 * Listing reads every message without acknowledging it and then closes the channel, so
 * the broker puts them all back where they were (dead-letter queues are classic queues,
 * for which a read is not a delivery attempt). Replaying publishes each message to its
 * original exchange and routing key (mandatory, confirmed) and only then acknowledges it
 * in the dead-letter queue, so a crash mid-replay duplicates, never loses: every other
 * queue bound to that routing key gets a copy too, and consumers drop duplicates by
 * event id.
 */
import * as amqp from 'amqplib';
import {
  CONSUMER_QUEUES,
  deadLetterQueue,
} from '../../services/common/messaging/topics.js';

/** One dead letter, as listed. */
export interface DeadLetter {
  eventId: string;
  type: string;
  /** The routing key it was published with (its topic). */
  routingKey: string;
  exchange: string;
  /** Why it died: `rejected` (unrecordable), `delivery_limit`, `expired`, … */
  reason: string;
  /** Times it died this way (x-death count). */
  count: number;
  /** The first bytes of its body, in hex. */
  head: string;
  size: number;
}

export interface DeadLetterQueue {
  /** The consumer queue, without the namespace (as in topics.ts). */
  queue: string;
  count: number;
  letters: DeadLetter[];
}

interface XDeath {
  reason?: unknown;
  count?: unknown;
  exchange?: unknown;
  'routing-keys'?: unknown;
}

function firstDeath(msg: amqp.Message): XDeath | undefined {
  const deaths = (msg.properties.headers ?? {})['x-death'] as
    XDeath[] | undefined;
  return Array.isArray(deaths) ? deaths[0] : undefined;
}

function describe(msg: amqp.Message): DeadLetter {
  const death = firstDeath(msg);
  const keys = Array.isArray(death?.['routing-keys'])
    ? (death['routing-keys'] as unknown[]).map(String)
    : [];
  return {
    eventId: String(msg.properties.messageId ?? ''),
    type: String(msg.properties.type ?? ''),
    routingKey: keys[0] ?? msg.fields.routingKey,
    exchange: String(death?.exchange ?? msg.fields.exchange),
    reason: String(death?.reason ?? 'unknown'),
    count: Number(death?.count ?? 1),
    head: msg.content.subarray(0, 16).toString('hex'),
    size: msg.content.length,
  };
}

/** The consumer queues whose dead letters the tool knows (without the namespace). */
export function knownQueues(): string[] {
  return CONSUMER_QUEUES.map(q => q.name);
}

function deadQueueName(namespace: string, queue: string): string {
  if (!knownQueues().includes(queue)) {
    throw new Error(
      `unknown queue ${queue}; the consumer queues are ${knownQueues().join(', ')}`,
    );
  }
  return deadLetterQueue(`${namespace}.${queue}`);
}

/** Every dead letter of `queues` (default: every consumer queue), left in place. */
export async function listDeadLetters(
  url: string,
  namespace: string,
  queues = knownQueues(),
  maxPerQueue = 1000,
): Promise<DeadLetterQueue[]> {
  const connection = await amqp.connect(url);
  try {
    const result: DeadLetterQueue[] = [];
    for (const queue of queues) {
      const name = deadQueueName(namespace, queue);
      const channel = await connection.createChannel();
      // A missing queue closes the channel with 404, handled below; without a listener
      // amqplib would rethrow it as an uncaught error.
      channel.on('error', () => undefined);
      const letters: DeadLetter[] = [];
      let count = 0;
      try {
        count = (await channel.checkQueue(name)).messageCount;
        while (letters.length < Math.min(count, maxPerQueue)) {
          const msg = await channel.get(name, {noAck: false});
          if (!msg) break;
          letters.push(describe(msg));
        }
      } catch (err) {
        // A queue that was never declared (its consumer never ran) has no dead letters.
        if ((err as {code?: number}).code !== 404) throw err;
      } finally {
        // Closing without acknowledging puts every message back.
        await channel.close().catch(() => undefined);
      }
      result.push({queue, count, letters});
    }
    return result;
  } finally {
    await connection.close();
  }
}

/**
 * Publishes every dead letter of `queue` again to its original exchange and routing key
 * and removes it from the dead letters once the broker confirmed it. Returns how many.
 * A letter no queue is bound for any more stays where it is (and the replay fails).
 */
export async function replayDeadLetters(
  url: string,
  namespace: string,
  queue: string,
): Promise<number> {
  const name = deadQueueName(namespace, queue);
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    // Errors reach us as rejected calls (a missing queue: 404 from checkQueue).
    channel.on('error', () => undefined);
    const returned = new Set<string>();
    channel.on('return', (msg: amqp.Message) =>
      returned.add(String(msg.properties.messageId ?? '')),
    );
    const {messageCount} = await channel.checkQueue(name);
    let replayed = 0;
    // Only what was there when the replay began: a letter that dies again meanwhile
    // waits for the next replay instead of looping.
    while (replayed < messageCount) {
      const msg = await channel.get(name, {noAck: false});
      if (!msg) break;
      const letter = describe(msg);
      const headers = {...(msg.properties.headers ?? {})};
      delete headers['x-death'];
      delete headers['x-delivery-count'];
      delete headers['x-first-death-exchange'];
      delete headers['x-first-death-queue'];
      delete headers['x-first-death-reason'];
      channel.publish(letter.exchange, letter.routingKey, msg.content, {
        messageId: msg.properties.messageId as string | undefined,
        type: msg.properties.type as string | undefined,
        contentType: msg.properties.contentType as string | undefined,
        persistent: true,
        mandatory: true,
        headers,
      });
      await channel.waitForConfirms();
      if (returned.has(letter.eventId)) {
        channel.nack(msg, false, true);
        throw new Error(
          `${letter.eventId}: no queue is bound for ${letter.routingKey} on ${letter.exchange}; left in ${name}`,
        );
      }
      channel.ack(msg);
      replayed++;
    }
    await channel.close();
    return replayed;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** The listing as `npm run dead-letters` prints it. */
export function formatDeadLetters(queues: readonly DeadLetterQueue[]): string {
  const lines: string[] = [];
  for (const q of queues) {
    lines.push(`${q.queue}: ${q.count} dead letter${q.count === 1 ? '' : 's'}`);
    for (const l of q.letters) {
      lines.push(
        `  ${l.eventId || '(no id)'}  ${l.routingKey}  ${l.reason} x${l.count}  ${l.type || '(no type)'}  ${l.size} B  ${l.head}`,
      );
    }
    if (q.letters.length < q.count)
      lines.push(`  … and ${q.count - q.letters.length} more`);
  }
  return lines.join('\n');
}
