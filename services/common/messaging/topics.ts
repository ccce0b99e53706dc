/**
 * Every routing key and every durable queue of the event bus, in one place: publishers
 * take their topics from here, consumers their queues and bindings, the bus the topology
 * it declares and the dead-letters tool the queues it inspects. A topic spelled anywhere
 * else is a bug.
 *
 * Queue names end in `.q` because they are quorum queues (a delivery limit and a
 * dead-letter exchange). Deployments from before carry classic queues under the old
 * names (`report.order-events`, `pricing.demand`) with other arguments, and RabbitMQ
 * refuses to redeclare a queue with different arguments (PRECONDITION_FAILED), so the
 * new queues got new names. The old ones can be deleted once they are empty.
 */

/** Order events, published by Order with every state change that ends a step. */
export const ORDER_TOPICS = {
  paid: 'order.paid',
  failed: 'order.failed',
  cancelled: 'order.cancelled',
  refunded: 'order.refunded',
} as const;

/** Every order event (for watchers). */
export const ALL_ORDER_TOPICS = 'order.*';

/** Payment events, one per thing that can happen to a payment. */
export const PAYMENT_TOPICS = {
  authorized: 'payment.authorized',
  declined: 'payment.declined',
  captured: 'payment.captured',
  voided: 'payment.voided',
  refunded: 'payment.refunded',
} as const;

/** Low-stock alerts raised or cleared by Inventory. */
export const LOW_STOCK_TOPIC = 'inventory.low_stock_alert';

/** Price changes published by Pricing. */
export const PRICE_CHANGED_TOPIC = 'pricing.price_changed';

/** A durable queue shared by the replicas of its consumer. */
export interface DurableQueue {
  /** Without the namespace. */
  readonly name: string;
  /** Binding keys. */
  readonly topics: readonly string[];
}

/** Report's copy of sales. order.failed is not bound: a failed order sold nothing. */
export const REPORT_ORDER_EVENTS: DurableQueue = {
  name: 'report.order-events.q',
  topics: [ORDER_TOPICS.paid, ORDER_TOPICS.cancelled, ORDER_TOPICS.refunded],
};

/** Pricing's demand signal. */
export const PRICING_DEMAND: DurableQueue = {
  name: 'pricing.demand.q',
  topics: [ORDER_TOPICS.paid],
};

/**
 * Where the events nobody consumes yet go: Payment's. Publishing is mandatory (an event
 * no queue is bound for comes back and stays in the outbox), so without this queue every
 * payment event would stay in Payment's outbox forever. Kept, rather than no longer
 * publishing them, because they are the record a future consumer (reconciliation, a
 * ledger export) starts from; bounded (length and age, oldest dropped first) because
 * nobody reads it today. A topic gets a real queue when a consumer appears, and then
 * leaves this list.
 */
export const ARCHIVE: DurableQueue = {
  name: 'events.archive.q',
  topics: ['payment.*'],
};

/** The archive keeps at most this many events, and none older than a week. */
export const ARCHIVE_MAX_LENGTH = 100_000;
export const ARCHIVE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** The queues that consumers read and whose failures are dead-lettered. */
export const CONSUMER_QUEUES: readonly DurableQueue[] = [
  REPORT_ORDER_EVENTS,
  PRICING_DEMAND,
];

/**
 * Deliveries of one message before the broker dead-letters it (x-delivery-limit): a
 * handler that throws (database down) gets that many tries, a pause apart, then the
 * message stops blocking the queue and waits in `<queue>.dead` for a replay.
 */
export const DELIVERY_LIMIT = 10;

/** The queue holding the dead letters of `queue` (names without the namespace). */
export function deadLetterQueue(queue: string): string {
  return `${queue}.dead`;
}

/** Every durable queue the bus declares, dead-letter queues included (without namespace). */
export function allDurableQueues(): string[] {
  return [
    ...CONSUMER_QUEUES.flatMap(q => [q.name, deadLetterQueue(q.name)]),
    ARCHIVE.name,
  ];
}
