/**
 * The sandbox provider's idempotency keys in PostgreSQL (table sandbox_provider_key in
 * Payment's schema): they outlive a restart of Payment, as a real provider's do, so a
 * PENDING payment whose answer was lost can be resolved by asking the sandbox.
 *
 * The table stands for the provider's own storage: Payment's code reads it only through
 * the provider port (SandboxPaymentProvider.lookup), never beside it.
 */
import type {Sql} from '../../../common/db/database.js';
import type {
  SandboxKeyEntry,
  SandboxKeyStore,
} from './sandbox_payment_provider.js';

interface KeyRow {
  operation: SandboxKeyEntry['operation'];
  request_fingerprint: string;
  answer: SandboxKeyEntry['answer'];
}

export class PgSandboxKeyStore implements SandboxKeyStore {
  constructor(private readonly sql: Sql) {}

  async remember(
    key: string,
    entry: SandboxKeyEntry,
  ): Promise<SandboxKeyEntry> {
    // The insert takes the key or, on conflict, waits for the first holder to commit and
    // inserts nothing; the read that follows is a new statement, so it sees that row
    // (a read inside the insert's statement would not: its snapshot is older).
    const inserted = await this.sql.execute(
      `insert into sandbox_provider_key (idempotency_key, operation, request_fingerprint, answer)
       values ($1, $2, $3, $4::jsonb)
       on conflict (idempotency_key) do nothing`,
      [key, entry.operation, entry.fingerprint, JSON.stringify(entry.answer)],
    );
    if (inserted > 0) return entry;
    const stored = await this.recall(key);
    if (!stored)
      throw new Error(`sandbox key ${key} vanished after a conflict`);
    return stored;
  }

  async recall(key: string): Promise<SandboxKeyEntry | undefined> {
    const [row] = await this.sql.query<KeyRow>(
      `select operation, request_fingerprint, answer from sandbox_provider_key
        where idempotency_key = $1`,
      [key],
    );
    return row && toEntry(row);
  }
}

function toEntry(row: KeyRow): SandboxKeyEntry {
  return {
    operation: row.operation,
    fingerprint: row.request_fingerprint,
    answer: row.answer,
  };
}
