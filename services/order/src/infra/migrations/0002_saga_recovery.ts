/**
 * Recovery that scales, and requests that stay retryable after an outage:
 * - each saga records the process that drives it (owner_id); live processes heartbeat
 *   in saga_owner, so another replica (or the restarted process) settles the sagas of
 *   a dead one within seconds instead of the abandon time;
 * - recovery claims orders with a lease, backs off per order and parks orders that keep
 *   failing, with their reason;
 * - pending_undo names the undo steps still to retry (only those are retried);
 * - a request id is unique among live orders only: an order that failed on an outage
 *   (retryable) and is fully undone frees it for the client's retry.
 */
import {Migration} from '@mikro-orm/migrations';

export class Migration0002SagaRecovery extends Migration {
  override up(): void {
    this.addSql(`
      alter table customer_order
        add column owner_id text,
        add column pending_undo jsonb not null default '[]',
        add column retryable boolean not null default false,
        add column recovery_attempts integer not null default 0,
        add column next_attempt_at timestamptz,
        add column lease_until timestamptz,
        add column parked_reason text,
        add column parked_at timestamptz`);
    // Undo steps of orders failed before this migration: retry them all.
    this.addSql(`update customer_order
      set pending_undo = '["reserve stock", "charge payment"]' where compensation_pending`);
    this.addSql(
      'alter table customer_order drop constraint customer_order_request_id_key',
    );
    this.addSql(`create unique index customer_order_live_request
      on customer_order (request_id) where not (retryable and pending_undo = '[]')`);
    this.addSql('drop index customer_order_recovery');
    this.addSql('alter table customer_order drop column compensation_pending');
    this.addSql(`create index customer_order_recovery
      on customer_order (coalesce(next_attempt_at, created_at))
      where (state = 'pending' or pending_undo <> '[]') and parked_at is null`);
    this.addSql(`create table saga_owner (
      instance_id text primary key,
      heartbeat_at timestamptz not null)`);
  }
}
