/**
 * Continuous reconciliation (app/reconcile.ts): the lease that keeps passes from
 * overlapping across replicas, and the record of every repair a pass made or tried.
 */
import {Migration} from '@mikro-orm/migrations';

export class Migration0003Reconciliation extends Migration {
  override up(): void {
    this.addSql(`create table reconcile_lease (
      name text primary key,
      holder text not null,
      lease_until timestamptz not null)`);
    this.addSql(`create table reconcile_repair (
      repair_id bigint generated always as identity primary key,
      kind text not null,
      action text not null check (action in ('refund', 'void', 'release', 'rebuild_mirror')),
      target text not null,
      outcome text not null check (outcome in ('repaired', 'failed')),
      detail text not null default '',
      repaired_at timestamptz not null)`);
    this.addSql(
      'create index reconcile_repair_by_time on reconcile_repair (repaired_at)',
    );
  }
}
