/**
 * The event bus: a RabbitMQ topic exchange, `<namespace>.events`.
 *
 * Publishing goes through a confirm channel: `publish` resolves only once the broker has
 * taken responsibility for every message, which is what lets the outbox relay delete
 * rows afterwards. Delivery is at least once; every event carries an id (`messageId`)
 * that consumers use to drop duplicates.
 *
 * The connection recovers by itself (amqplib's recovery option); subscriptions are
 * declared again on every reconnect.
 */
import * as amqp from 'amqplib';
import type {Logger} from '../log/logger.js';
import {BatchingConsumer} from './batching_consumer.js';

/** Messages the broker may push to a consumer before it acknowledges; also the largest batch. */
const PREFETCH = 64;

/** One message to publish. */
export interface OutgoingEvent {
  /** Routing key, "<context>.<event>", e.g. "order.paid". */
  topic: string;
  /** Unique event id; consumers deduplicate on it. */
  eventId: string;
  /** Fully qualified protobuf message type of `body`, e.g. "agora.order.v1.OrderEvent". */
  type: string;
  /** Protobuf binary. */
  body: Uint8Array;
}

/** One delivered message. */
export interface IncomingEvent {
  topic: string;
  eventId: string;
  type: string;
  body: Uint8Array;
}

export interface Subscription {
  /** Queue name without the namespace; durable queues survive restarts. */
  queue: string;
  /** Binding keys, e.g. ["order.paid"] or ["order.#"]. */
  topics: string[];
  /**
   * Durable shared queue (work is split between replicas), or a private queue per
   * process that disappears with it (every replica sees every event: fan-out to watchers).
   */
  durable: boolean;
  /** Handles one event; a rejection requeues it after a pause. */
  handle(event: IncomingEvent): Promise<void>;
  /**
   * Handles the events delivered together (see batching_consumer.ts). When it rejects,
   * each event of the batch goes through `handle` on its own.
   */
  handleBatch?(events: IncomingEvent[]): Promise<void>;
}

function incoming(msg: amqp.ConsumeMessage): IncomingEvent {
  return {
    topic: msg.fields.routingKey,
    eventId: String(msg.properties.messageId ?? ''),
    type: String(msg.properties.type ?? ''),
    body: new Uint8Array(msg.content),
  };
}

export class EventBus {
  private publisher: amqp.ConfirmChannel | undefined;
  private model: amqp.ChannelModel | undefined;
  private readonly subscriptions: Subscription[] = [];

  private constructor(
    private readonly namespace: string,
    private readonly log: Logger,
  ) {}

  /** The exchange every Agora service publishes to. */
  get exchange(): string {
    return `${this.namespace}.events`;
  }

  private connection: amqp.RecoveringChannelModel | undefined;

  /** Connects (retrying in the background when the broker is down). */
  static async connect(
    url: string,
    namespace: string,
    log: Logger,
    waitForConnect = true,
  ): Promise<EventBus> {
    const bus = new EventBus(namespace, log);
    bus.connection = await amqp.connect(url, {
      recovery: {
        initialDelay: 200,
        maxDelay: 5000,
        waitForConnect: false,
        setup: (model: amqp.ChannelModel) => bus.setup(model),
      },
    });
    bus.connection.on('disconnect', (err: Error) => {
      bus.publisher = undefined;
      bus.model = undefined;
      log.warn('event bus disconnected; reconnecting', {reason: err.message});
    });
    bus.connection.on('error', (err: Error) =>
      log.warn('event bus error', {reason: err.message}),
    );
    if (waitForConnect) await bus.connection.waitForConnect();
    return bus;
  }

  private async setup(model: amqp.ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    await channel.assertExchange(this.exchange, 'topic', {durable: true});
    channel.on('error', (err: Error) =>
      this.log.warn('publish channel error', {reason: err.message}),
    );
    this.publisher = channel;
    this.model = model;
    for (const sub of this.subscriptions) await this.declare(model, sub);
    this.log.info('event bus connected', {exchange: this.exchange});
  }

  /** True while connected to the broker. */
  get connected(): boolean {
    return this.publisher !== undefined;
  }

  /** Publishes events and waits until the broker confirmed all of them. */
  async publish(events: OutgoingEvent[]): Promise<void> {
    const channel = this.publisher;
    if (!channel) throw new Error('event bus is not connected');
    for (const e of events) {
      channel.publish(this.exchange, e.topic, Buffer.from(e.body), {
        messageId: e.eventId,
        type: e.type,
        persistent: true,
        contentType: 'application/x-protobuf',
      });
    }
    await channel.waitForConfirms();
  }

  /** Starts consuming; the subscription is declared again after every reconnect. */
  async subscribe(sub: Subscription): Promise<void> {
    this.subscriptions.push(sub);
    if (this.model) await this.declare(this.model, sub);
  }

  private async declare(
    model: amqp.ChannelModel,
    sub: Subscription,
  ): Promise<void> {
    const channel = await model.createChannel();
    // A channel the broker closes (a restart, a failed declare) emits 'error'; without
    // a listener that would end the process. The connection's recovery declares the
    // subscription again.
    channel.on('error', (err: Error) =>
      this.log.warn('consumer channel error', {
        queue: sub.queue,
        reason: err.message,
      }),
    );
    await channel.assertExchange(this.exchange, 'topic', {durable: true});
    const {queue} = await channel.assertQueue(
      sub.durable ? `${this.namespace}.${sub.queue}` : '',
      sub.durable ? {durable: true} : {exclusive: true, autoDelete: true},
    );
    for (const topic of sub.topics)
      await channel.bindQueue(queue, this.exchange, topic);
    await channel.prefetch(PREFETCH);
    const acker = {
      ack(msg: amqp.ConsumeMessage) {
        try {
          channel.ack(msg);
        } catch {
          // The channel closed meanwhile; the broker redelivers what was not acknowledged.
        }
      },
      requeue(msg: amqp.ConsumeMessage) {
        try {
          channel.nack(msg, false, true);
        } catch {
          // As above: a closed channel's unacknowledged messages are redelivered anyway.
        }
      },
    };
    const handleOne = (msg: amqp.ConsumeMessage) => {
      const event = incoming(msg);
      sub.handle(event).then(
        () => acker.ack(msg),
        (err: unknown) => {
          this.log.error(
            'event handler failed; requeueing',
            {
              queue: sub.queue,
              eventId: event.eventId,
            },
            err,
          );
          // Pause before requeueing so a poisoned message does not spin the CPU.
          setTimeout(() => acker.requeue(msg), 1000).unref();
        },
      );
    };
    const {handleBatch} = sub;
    const batches =
      handleBatch &&
      new BatchingConsumer<amqp.ConsumeMessage>(
        acker,
        msgs => handleBatch.call(sub, msgs.map(incoming)),
        handleOne,
        PREFETCH,
        (err, size) =>
          this.log.warn('event batch failed; handling its events one by one', {
            queue: sub.queue,
            size,
            reason: err instanceof Error ? err.message : String(err),
          }),
      );
    await channel.consume(queue, msg => {
      if (!msg) return;
      if (batches) batches.push(msg);
      else handleOne(msg);
    });
  }

  async close(): Promise<void> {
    await this.connection?.close().catch(() => undefined);
  }
}
