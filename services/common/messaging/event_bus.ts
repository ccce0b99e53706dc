/**
 * The event bus: a RabbitMQ topic exchange, `<namespace>.events`.
 *
 * Publishing goes through a confirm channel with the mandatory flag: `publish` resolves
 * once the broker has taken responsibility for every message, and reports the ones no
 * queue was bound for (the broker hands those back with basic.return before it confirms
 * them), so the outbox relay deletes only rows that reached a queue. Delivery is at
 * least once; every event carries an id (`messageId`) that consumers use to drop
 * duplicates.
 *
 * Consumer queues are quorum queues with a delivery limit and a dead-letter exchange
 * (`<namespace>.events.dead`, direct): a message that keeps failing, or that its handler
 * rejects as unrecordable, ends in `<queue>.dead` instead of blocking the queue, and
 * `npm run dead-letters` lists and replays it. Every service declares the whole durable
 * topology of topics.ts when it connects, so an event published before its consumer
 * first started waits in the consumer's queue rather than coming back.
 *
 * The trace context of the transaction that wrote an event travels in the `traceparent`
 * and `tracestate` headers; a consumer's span is a child of it, in the same trace.
 *
 * The connection recovers by itself (amqplib's recovery option); the topology and the
 * subscriptions are declared again on every reconnect.
 */
import {
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import * as amqp from 'amqplib';
import type {Logger} from '../log/logger.js';
import {
  contextFromCarrier,
  type TraceCarrier,
} from '../telemetry/trace_context.js';
import {BatchingConsumer} from './batching_consumer.js';
import {
  ARCHIVE,
  ARCHIVE_MAX_AGE_MS,
  ARCHIVE_MAX_LENGTH,
  CONSUMER_QUEUES,
  deadLetterQueue,
  DELIVERY_LIMIT,
  type DurableQueue,
} from './topics.js';

/** Messages the broker may push to a consumer before it acknowledges; also the largest batch. */
const PREFETCH = 64;

const tracer = trace.getTracer('agora-events');

/** One message to publish. */
export interface OutgoingEvent {
  /** Routing key, one of topics.ts, e.g. "order.paid". */
  topic: string;
  /** Unique event id; consumers deduplicate on it. */
  eventId: string;
  /** Fully qualified protobuf message type of `body`, e.g. "agora.order.v1.OrderEvent". */
  type: string;
  /** Protobuf binary. */
  body: Uint8Array;
  /** W3C trace context of the transaction that wrote the event (traceparent, tracestate). */
  trace?: TraceCarrier;
}

/** One delivered message. */
export interface IncomingEvent {
  topic: string;
  eventId: string;
  type: string;
  body: Uint8Array;
}

/**
 * Thrown by a handler for an event that can never be recorded (it cannot be decoded, or
 * lacks what the consumer needs): the bus rejects it at once and the broker moves it to
 * the dead letters, where it can be inspected and, after a fix, replayed. Never
 * acknowledged, so never lost.
 */
export class UnrecordableEventError extends Error {
  constructor(message: string, options?: {cause?: unknown}) {
    super(message, options);
    this.name = 'UnrecordableEventError';
  }
}

export interface Subscription {
  /** Queue name without the namespace; for a durable one, a queue of topics.ts. */
  queue: string;
  /** Binding keys, e.g. ["order.paid"] or ["order.#"]. */
  topics: readonly string[];
  /**
   * Durable shared queue (work is split between replicas), or a private queue per
   * process that disappears with it (every replica sees every event: fan-out to watchers).
   */
  durable: boolean;
  /**
   * Handles one event. A rejection requeues it after a pause, up to the delivery limit
   * (then it is dead-lettered); an UnrecordableEventError dead-letters it at once.
   */
  handle(event: IncomingEvent): Promise<void>;
  /**
   * Handles the events delivered together (see batching_consumer.ts). When it rejects,
   * each event of the batch goes through `handle` on its own.
   */
  handleBatch?(events: IncomingEvent[]): Promise<void>;
}

/** What `publish` learned from the broker. */
export interface PublishOutcome {
  /** Ids of the events no queue was bound for (not delivered anywhere). */
  returned: string[];
}

export interface EventBusOptions {
  /** Pause before a failed event is requeued (so a failing handler does not spin). */
  retryDelayMs?: number;
}

function incoming(msg: amqp.ConsumeMessage): IncomingEvent {
  return {
    topic: msg.fields.routingKey,
    eventId: String(msg.properties.messageId ?? ''),
    type: String(msg.properties.type ?? ''),
    body: new Uint8Array(msg.content),
  };
}

/** The trace context a message carries (the root context when it has none). */
function producerContext(msg: amqp.ConsumeMessage): Context {
  const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
  const carrier: TraceCarrier = {};
  for (const key of ['traceparent', 'tracestate'] as const) {
    const value = headers[key];
    if (value !== undefined && value !== null) carrier[key] = String(value);
  }
  return contextFromCarrier(carrier);
}

/** A CONSUMER span for one delivered message, child of the span that wrote the event. */
function consumerSpan(queue: string, msg: amqp.ConsumeMessage): Span {
  return tracer.startSpan(
    `process ${msg.fields.routingKey}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.destination.name': queue,
        'messaging.rabbitmq.destination.routing_key': msg.fields.routingKey,
        'messaging.message.id': String(msg.properties.messageId ?? ''),
      },
    },
    producerContext(msg),
  );
}

function endSpan(span: Span, err?: unknown): void {
  if (err !== undefined) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({code: SpanStatusCode.ERROR});
  }
  span.end();
}

/** Arguments of a consumer queue: quorum, delivery limit, dead letters to `<queue>.dead`. */
function consumerQueueArguments(
  dlx: string,
  queue: string,
): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-delivery-limit': DELIVERY_LIMIT,
    'x-dead-letter-exchange': dlx,
    'x-dead-letter-routing-key': queue,
  };
}

export class EventBus {
  private publisher: amqp.ConfirmChannel | undefined;
  private model: amqp.ChannelModel | undefined;
  private readonly subscriptions: Subscription[] = [];
  /** Ids handed back by basic.return since the publish in progress began. */
  private returned = new Set<string>();
  private readonly retryDelayMs: number;

  private constructor(
    private readonly namespace: string,
    private readonly log: Logger,
    options: EventBusOptions,
  ) {
    this.retryDelayMs = options.retryDelayMs ?? 1000;
  }

  /** The exchange every Agora service publishes to. */
  get exchange(): string {
    return `${this.namespace}.events`;
  }

  /** The dead-letter exchange: routes by the name of the queue a message died in. */
  get deadLetterExchange(): string {
    return `${this.namespace}.events.dead`;
  }

  private connection: amqp.RecoveringChannelModel | undefined;

  /** Connects (retrying in the background when the broker is down). */
  static async connect(
    url: string,
    namespace: string,
    log: Logger,
    waitForConnect = true,
    options: EventBusOptions = {},
  ): Promise<EventBus> {
    const bus = new EventBus(namespace, log, options);
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
    const topology = await model.createChannel();
    try {
      await this.declareTopology(topology);
    } finally {
      await topology.close().catch(() => undefined);
    }
    const channel = await model.createConfirmChannel();
    channel.on('error', (err: Error) =>
      this.log.warn('publish channel error', {reason: err.message}),
    );
    channel.on('return', (msg: amqp.Message) => {
      this.returned.add(String(msg.properties.messageId ?? ''));
    });
    this.publisher = channel;
    this.model = model;
    for (const sub of this.subscriptions) await this.declare(model, sub);
    this.log.info('event bus connected', {exchange: this.exchange});
  }

  /** The exchanges and every durable queue of topics.ts, with their dead-letter queues. */
  private async declareTopology(channel: amqp.Channel): Promise<void> {
    await channel.assertExchange(this.exchange, 'topic', {durable: true});
    await channel.assertExchange(this.deadLetterExchange, 'direct', {
      durable: true,
    });
    for (const queue of CONSUMER_QUEUES)
      await this.declareConsumerQueue(channel, queue);
    const archive = `${this.namespace}.${ARCHIVE.name}`;
    await channel.assertQueue(archive, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-max-length': ARCHIVE_MAX_LENGTH,
        'x-overflow': 'drop-head',
        'x-message-ttl': ARCHIVE_MAX_AGE_MS,
      },
    });
    for (const topic of ARCHIVE.topics)
      await channel.bindQueue(archive, this.exchange, topic);
  }

  private async declareConsumerQueue(
    channel: amqp.Channel,
    queue: DurableQueue,
  ): Promise<string> {
    const name = `${this.namespace}.${queue.name}`;
    // Classic, not quorum: listing dead letters reads and requeues them, and a quorum
    // queue would count those reads as deliveries.
    const dead = deadLetterQueue(name);
    await channel.assertQueue(dead, {durable: true});
    await channel.bindQueue(dead, this.deadLetterExchange, name);
    await channel.assertQueue(name, {
      durable: true,
      arguments: consumerQueueArguments(this.deadLetterExchange, name),
    });
    for (const topic of queue.topics)
      await channel.bindQueue(name, this.exchange, topic);
    return name;
  }

  /** True while connected to the broker. */
  get connected(): boolean {
    return this.publisher !== undefined;
  }

  /**
   * Publishes events (mandatory) and waits until the broker confirmed all of them.
   * Rejects when the broker nacks one or the channel closes; resolves with the ids of
   * the events that no queue was bound for. One publish at a time per bus (the relay's
   * passes do not overlap).
   */
  async publish(events: readonly OutgoingEvent[]): Promise<PublishOutcome> {
    const channel = this.publisher;
    if (!channel) throw new Error('event bus is not connected');
    this.returned = new Set();
    const returned = this.returned;
    for (const e of events) {
      channel.publish(this.exchange, e.topic, Buffer.from(e.body), {
        messageId: e.eventId,
        type: e.type,
        persistent: true,
        mandatory: true,
        contentType: 'application/x-protobuf',
        headers: e.trace ? {...e.trace} : undefined,
      });
    }
    await channel.waitForConfirms();
    // basic.return comes before the confirm of the same message, so the set is complete.
    return {
      returned: events.map(e => e.eventId).filter(id => returned.has(id)),
    };
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
    let queue: string;
    if (sub.durable) {
      await channel.assertExchange(this.deadLetterExchange, 'direct', {
        durable: true,
      });
      queue = await this.declareConsumerQueue(channel, {
        name: sub.queue,
        topics: sub.topics,
      });
    } else {
      queue = (
        await channel.assertQueue('', {exclusive: true, autoDelete: true})
      ).queue;
      for (const topic of sub.topics)
        await channel.bindQueue(queue, this.exchange, topic);
    }
    await channel.prefetch(PREFETCH);
    const settle = (fn: () => void) => {
      try {
        fn();
      } catch {
        // The channel closed meanwhile; the broker redelivers what was not settled.
      }
    };
    const acker = {
      ack: (msg: amqp.ConsumeMessage) => settle(() => channel.ack(msg)),
    };
    const handleOne = (msg: amqp.ConsumeMessage) => {
      const event = incoming(msg);
      const span = consumerSpan(sub.queue, msg);
      otelContext
        .with(trace.setSpan(otelContext.active(), span), () =>
          sub.handle(event),
        )
        .then(
          () => {
            endSpan(span);
            acker.ack(msg);
          },
          (err: unknown) => {
            endSpan(span, err);
            const ids = {queue: sub.queue, eventId: event.eventId};
            if (err instanceof UnrecordableEventError) {
              // Straight to the dead letters: every redelivery would fail the same way.
              this.log.error(
                'event cannot be recorded; dead-lettering',
                ids,
                err,
              );
              settle(() => channel.nack(msg, false, false));
              return;
            }
            this.log.error('event handler failed; requeueing', ids, err);
            // Pause before requeueing so a failing handler does not spin the CPU; the
            // queue's delivery limit dead-letters a message that never succeeds.
            setTimeout(
              () => settle(() => channel.nack(msg, false, true)),
              this.retryDelayMs,
            ).unref();
          },
        );
    };
    const {handleBatch} = sub;
    const batches =
      handleBatch &&
      new BatchingConsumer<amqp.ConsumeMessage>(
        acker,
        msgs => {
          // One span per event, each in its own producer's trace. The batch's queries
          // run under the first one: a span has one parent.
          const spans = msgs.map(m => consumerSpan(sub.queue, m));
          return otelContext
            .with(trace.setSpan(otelContext.active(), spans[0]), () =>
              handleBatch.call(sub, msgs.map(incoming)),
            )
            .then(
              () => spans.forEach(s => endSpan(s)),
              (err: unknown) => {
                spans.forEach(s => endSpan(s, err));
                throw err;
              },
            );
        },
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
