/**
 * The outbox's migrations, apart from outbox.ts so that a serving process, which uses
 * the outbox, never loads MikroORM (only the migration child does: db/migrator.ts).
 */
import {Migration} from '@mikro-orm/migrations';

/**
 * The outbox's second version, in every service with an outbox (the last entry of its
 * migration list): the W3C trace context of the transaction that wrote a row, so the
 * relay can send it on and consumers join that trace; and the attempts of a row the
 * broker handed back (no queue bound for its topic), with the time of its next try.
 */
export class MigrationOutboxDelivery extends Migration {
  override up(): void {
    this.addSql(`
      alter table outbox
        add column traceparent text,
        add column tracestate text,
        add column attempts integer not null default 0,
        add column next_attempt_at timestamptz`);
  }
}

/** The migration-list entry of MigrationOutboxDelivery. */
export const OUTBOX_DELIVERY_MIGRATION = {
  name: 'outbox_0002_delivery',
  class: MigrationOutboxDelivery,
};
