/**
 * The transactional outbox: integration events are written to the service's own
 * `outbox` table in the same transaction as the state change they describe, and a relay
 * publishes them to the event bus after commit. So an event is published if and only if
 * its change committed, and a crash between commit and publish only delays it.
 */
import type {Counter} from 'prom-client';
import type {Database, Sql} from '../db/database.js';
import type {Logger} from '../log/logger.js';
import type {OutgoingEvent, PublishOutcome} from '../messaging/event_bus.js';
import type {ServiceMetrics} from '../telemetry/metrics.js';
import {currentTraceCarrier, detached} from '../telemetry/trace_context.js';

/** DDL for a service's outbox table; services include it in their first migration. */
export const OUTBOX_TABLE_SQL = `
create table outbox (
  id bigserial primary key,
  event_id uuid not null unique,
  topic text not null,
  type text not null,
  body bytea not null,
  created_at timestamptz not null default now()
)`;

/**
 * SQL that appends events passed as six array parameters starting at `$first` (see
 * outboxParams); `where` can make it conditional when it is a CTE of a larger statement.
 */
export function outboxInsertSql(first: number, where = ''): string {
  const p = (i: number) => `$${first + i}`;
  return `insert into outbox (event_id, topic, type, body, traceparent, tracestate)
    select e.* from unnest(${p(0)}::uuid[], ${p(1)}::text[], ${p(2)}::text[],
                           ${p(3)}::bytea[], ${p(4)}::text[], ${p(5)}::text[])
      as e(event_id, topic, type, body, traceparent, tracestate) ${where}`;
}

/**
 * The six array parameters of outboxInsertSql. Events without a trace context of their
 * own get the one active now: the transaction writing them.
 */
export function outboxParams(events: readonly OutgoingEvent[]): unknown[] {
  const now = currentTraceCarrier();
  const traces = events.map(e => e.trace ?? now);
  return [
    events.map(e => e.eventId),
    events.map(e => e.topic),
    events.map(e => e.type),
    events.map(e => Buffer.from(e.body)),
    traces.map(t => t.traceparent ?? null),
    traces.map(t => t.tracestate ?? null),
  ];
}

/** Appends events to the outbox inside the caller's transaction. */
export async function appendToOutbox(
  sql: Sql,
  events: OutgoingEvent[],
): Promise<void> {
  if (events.length === 0) return;
  await sql.execute(outboxInsertSql(1), outboxParams(events));
}

interface OutboxRow {
  id: string;
  event_id: string;
  topic: string;
  type: string;
  body: Buffer;
  traceparent: string | null;
  tracestate: string | null;
}

/** What the relay needs of the event bus. */
export interface EventPublisher {
  readonly connected: boolean;
  publish(events: readonly OutgoingEvent[]): Promise<PublishOutcome>;
}

export interface OutboxRelayOptions {
  pollMs?: number;
  batchSize?: number;
  coalesceMs?: number;
  /**
   * How long a pass waits for the broker's confirms. Past it the pass gives up, its
   * transaction rolls back and the rows stay for the next pass (a late confirm then
   * means the event is published twice; consumers drop duplicates by event id).
   */
  confirmTimeoutMs?: number;
}

/** Thrown when the broker did not confirm a publish in time. */
export class ConfirmTimeoutError extends Error {
  constructor(ms: number) {
    super(`the broker did not confirm the events within ${ms} ms`);
    this.name = 'ConfirmTimeoutError';
  }
}

/** Backoff of a returned row: 1 s, 2 s, 4 s … up to 5 minutes between tries. */
const RETURNED_BACKOFF_SQL =
  "least(power(2, attempts), 300) * interval '1 second'";

/**
 * Publishes outbox rows in id order and deletes them once the broker confirmed them.
 * Replicas can run relays side by side: `for update skip locked` hands each row to one.
 *
 * A row the broker hands back (no queue is bound for its topic) is not deleted: it stays,
 * is counted (agora_outbox_returned_total) and logged, and is tried again with growing
 * pauses, so an event published before its consumer's queue exists is delivered once
 * it does, and a topic nobody binds shows up as a growing backlog, not as lost events.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly coalesceMs: number;
  private readonly confirmTimeoutMs: number;
  private returnedCounter: Counter<'topic'> | undefined;

  constructor(
    private readonly db: Database,
    private readonly bus: EventPublisher,
    private readonly log: Logger,
    options: OutboxRelayOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 500;
    this.batchSize = options.batchSize ?? 200;
    this.coalesceMs = options.coalesceMs ?? 10;
    this.confirmTimeoutMs = options.confirmTimeoutMs ?? 5000;
  }

  private soon: NodeJS.Timeout | undefined;

  start(): void {
    this.timer = setInterval(() => this.nudge(), this.pollMs);
    this.timer.unref();
    this.nudge();
  }

  /** Asks for a publish pass soon (called after a commit that wrote events). */
  nudge(): void {
    // Coalesce: under load many commits land within a few milliseconds, and one pass
    // (one transaction, one confirm round trip) can publish all of their events.
    if (this.stopped || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.pass();
    }, this.coalesceMs);
  }

  private pass(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = detached(() => this.drain()).finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.pass();
      }
    });
  }

  /** Publishes, or throws ConfirmTimeoutError when the confirms take too long. */
  private async publishBounded(
    events: readonly OutgoingEvent[],
  ): Promise<PublishOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ConfirmTimeoutError(this.confirmTimeoutMs)),
        this.confirmTimeoutMs,
      );
    });
    try {
      return await Promise.race([this.bus.publish(events), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async drain(): Promise<void> {
    if (!this.bus.connected) return; // rows wait in PostgreSQL until the broker is back
    try {
      for (;;) {
        const selected = await this.db.tx(async sql => {
          const rows = await sql.query<OutboxRow>(
            `select id, event_id, topic, type, body, traceparent, tracestate
               from outbox
              where next_attempt_at is null or next_attempt_at <= now()
              order by id limit $1 for update skip locked`,
            [this.batchSize],
          );
          if (rows.length === 0) return 0;
          const {returned} = await this.publishBounded(
            rows.map(r => ({
              topic: r.topic,
              eventId: r.event_id,
              type: r.type,
              body: r.body,
              trace: {
                ...(r.traceparent ? {traceparent: r.traceparent} : {}),
                ...(r.tracestate ? {tracestate: r.tracestate} : {}),
              },
            })),
          );
          const back = new Set(returned);
          const kept = rows.filter(r => back.has(r.event_id));
          await sql.query('delete from outbox where id = any($1::bigint[])', [
            rows.filter(r => !back.has(r.event_id)).map(r => r.id),
          ]);
          if (kept.length > 0) {
            await sql.query(
              `update outbox set attempts = attempts + 1,
                      next_attempt_at = now() + ${RETURNED_BACKOFF_SQL}
                where id = any($1::bigint[])`,
              [kept.map(r => r.id)],
            );
            for (const r of kept) this.returnedCounter?.inc({topic: r.topic});
            this.log.warn(
              'events returned: no queue is bound; kept in the outbox',
              {
                events: kept.length,
                topics: [...new Set(kept.map(r => r.topic))].join(','),
              },
            );
          }
          return rows.length;
        });
        if (selected < this.batchSize || this.stopped) return;
      }
    } catch (err) {
      this.log.warn('outbox relay pass failed; will retry', {
        reason: err instanceof Error ? err.message : String(err),
      });
    }
  }

  /** Seconds since the oldest unpublished event was written (0 when empty). */
  async lagSeconds(): Promise<number> {
    const [row] = await this.db.query<{lag: string | null}>(
      'select extract(epoch from now() - min(created_at)) as lag from outbox',
    );
    return row?.lag ? Number(row.lag) : 0;
  }

  /** Publishes the outbox lag and backlog as gauges of the service's metrics. */
  exposeTo(metrics: ServiceMetrics): void {
    this.returnedCounter = metrics.counter(
      'agora_outbox_returned_total',
      'Events the broker handed back because no queue is bound for their topic (kept and retried)',
      ['topic'],
    );
    metrics.gaugeFrom(
      'agora_outbox_lag_seconds',
      'Age of the oldest unpublished event',
      [],
      async () => [{labels: {}, value: await this.lagSeconds()}],
    );
    metrics.gaugeFrom(
      'agora_outbox_pending',
      'Events written but not yet published',
      [],
      async () => {
        const [row] = await this.db.query<{n: string}>(
          'select count(*) as n from outbox',
        );
        return [{labels: {}, value: Number(row?.n ?? 0)}];
      },
    );
  }

  /** Stops polling and finishes the pass in progress (one last pass to flush). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.soon) {
      clearTimeout(this.soon);
      this.soon = undefined;
      this.pass(); // flush what the last calls wrote
    }
    await this.running;
    this.stopped = true;
  }
}
