/**
 * Page tokens of reconciliation scans: a position in (update time, id) order. Scans walk
 * rows by update time so a reader can resume "since" a time; the id breaks ties. Times
 * are compared at millisecond precision (what a JS Date holds): PostgreSQL's microseconds
 * would put a row behind its own cursor and return it forever.
 */
import {InvalidArgumentError} from '../errors/domain_error.js';

export interface ScanCursor {
  updatedAt: Date;
  id: string;
}

export function encodeScanCursor(c: ScanCursor): string {
  return Buffer.from(`${c.updatedAt.toISOString()}|${c.id}`).toString(
    'base64url',
  );
}

/** The cursor of `token`; undefined for the empty token (the first page). */
export function decodeScanCursor(token: string): ScanCursor | undefined {
  if (!token) return undefined;
  const [time, id] = Buffer.from(token, 'base64url').toString().split('|');
  const updatedAt = new Date(time);
  if (!id || Number.isNaN(updatedAt.getTime())) {
    throw new InvalidArgumentError(
      'page_token',
      'is not a token from a previous response',
    );
  }
  return {updatedAt, id};
}

/** What a scan asks a store for: one page, and the filters. */
export interface ScanQuery {
  updatedSince: Date | undefined;
  /** Only rows of these orders; empty: every order. */
  orderIds: readonly string[];
  after: ScanCursor | undefined;
  limit: number;
}

/**
 * The SQL condition and order of a scan over the table aliased `alias`, which has
 * `updated_at`, `order_id` and the id column `idColumn`; its parameters are numbered
 * from `first`. Keyset paging on the time truncated to milliseconds.
 */
export function scanCondition(
  q: ScanQuery,
  alias: string,
  idColumn: string,
  first = 1,
): {where: string; order: string; params: unknown[]} {
  const t = `date_trunc('milliseconds', ${alias}.updated_at)`;
  const id = `${alias}.${idColumn}::text`;
  const n = (k: number) => `$${first + k}`;
  return {
    where: `(${n(0)}::timestamptz is null or ${alias}.updated_at >= ${n(0)})
      and (cardinality(${n(1)}::text[]) = 0 or ${alias}.order_id::text = any(${n(1)}))
      and (${n(2)}::timestamptz is null or (${t}, ${id}) > (${n(2)}, ${n(3)}))`,
    order: `${t}, ${id}`,
    params: [
      q.updatedSince ?? null,
      [...q.orderIds],
      q.after?.updatedAt ?? null,
      q.after?.id ?? '',
    ],
  };
}
