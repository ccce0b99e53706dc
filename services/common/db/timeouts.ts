// PostgreSQL time bounds, apart from database.ts so that configuration can read them
// without loading pg.

/**
 * Time bounds of every session of the pool, so no request waits on PostgreSQL without
 * end (ServiceConfig.dbTimeouts, AGORA_DB_*_MS). Zero turns a bound off, as in
 * PostgreSQL.
 */
export interface DatabaseTimeouts {
  /** statement_timeout: longest one statement runs, lock waits included (57014). */
  statementMs: number;
  /** lock_timeout: longest one statement waits for a lock (55P03). */
  lockMs: number;
  /**
   * idle_in_transaction_session_timeout: PostgreSQL ends a session left idle inside a
   * transaction this long, so a process that hangs (or a remote call that never
   * returns) cannot hold row locks forever. Must exceed the longest remote call made
   * while a transaction is open (Order's after-sale calls Payment and Inventory under
   * the order's row lock).
   */
  idleInTransactionMs: number;
  /**
   * How long a caller waits for a pooled connection, free or new (pg-pool's
   * connectionTimeoutMillis: it bounds both the wait for a slot and the TCP connect).
   */
  acquireMs: number;
}

/** The defaults of AGORA_DB_*_MS (README, Configuration). */
export const DEFAULT_DB_TIMEOUTS: DatabaseTimeouts = {
  statementMs: 15_000,
  lockMs: 10_000,
  idleInTransactionMs: 60_000,
  acquireMs: 5_000,
};
