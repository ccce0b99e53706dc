/**
 * The transactional outbox: integration events are written to the service's own
 * `outbox` table in the same transaction as the state change they describe, and a relay
 * publishes them to the event bus after commit. So an event is published if and only if
 * its change committed, and a crash between commit and publish only delays it.
 */
import type {Database, Sql} from '../db/database.js';
import type {Logger} from '../log/logger.js';
import type {EventBus, OutgoingEvent} from '../messaging/event_bus.js';
import type {ServiceMetrics} from '../telemetry/metrics.js';
import {detached} from '../telemetry/trace_context.js';

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
 * SQL that appends events passed as four array parameters starting at `$first` (see
 * outboxParams); `where` can make it conditional when it is a CTE of a larger statement.
 */
export function outboxInsertSql(first: number, where = ''): string {
  return `insert into outbox (event_id, topic, type, body)
    select e.* from unnest($${first}::uuid[], $${first + 1}::text[], $${first + 2}::text[],
                           $${first + 3}::bytea[]) as e(event_id, topic, type, body) ${where}`;
}

/** The four array parameters of outboxInsertSql. */
export function outboxParams(events: readonly OutgoingEvent[]): unknown[] {
  return [
    events.map(e => e.eventId),
    events.map(e => e.topic),
    events.map(e => e.type),
    events.map(e => Buffer.from(e.body)),
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
}

/**
 * Publishes outbox rows in id order and deletes them once the broker confirmed them.
 * Replicas can run relays side by side: `for update skip locked` hands each row to one.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly pollMs = 500,
    private readonly batchSize = 200,
    private readonly coalesceMs = 10,
  ) {}

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

  private async drain(): Promise<void> {
    if (!this.bus.connected) return; // rows wait in PostgreSQL until the broker is back
    try {
      for (;;) {
        const sent = await this.db.tx(async sql => {
          const rows = await sql.query<OutboxRow>(
            `select id, event_id, topic, type, body from outbox
              order by id limit $1 for update skip locked`,
            [this.batchSize],
          );
          if (rows.length === 0) return 0;
          await this.bus.publish(
            rows.map(r => ({
              topic: r.topic,
              eventId: r.event_id,
              type: r.type,
              body: r.body,
            })),
          );
          await sql.query('delete from outbox where id = any($1::bigint[])', [
            rows.map(r => r.id),
          ]);
          return rows.length;
        });
        if (sent < this.batchSize || this.stopped) return;
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
