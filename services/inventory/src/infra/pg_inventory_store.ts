/**
 * InventoryStore on PostgreSQL. Every stock change is one conditional UPDATE whose WHERE
 * clause is the invariant (`on_hand - reserved >= $q`): under any concurrency, a row
 * lock serializes the writers and the losers see zero rows, so stock is never oversold.
 */
import {
  scanCondition,
  type ScanQuery,
} from '../../../common/paging/scan_cursor.js';
import type {Database, Sql} from '../../../common/db/database.js';
import type {OutgoingEvent} from '../../../common/messaging/event_bus.js';
import {appendToOutbox} from '../../../common/outbox/outbox.js';
import {
  Reservation,
  type ReservationLine,
  type ReservationState,
} from '../domain/reservation.js';
import type {AdjustmentReason, StockLevel} from '../domain/stock_level.js';
import type {
  InventoryStore,
  InventoryTx,
  LowStockAlert,
  ReserveOutcome,
} from '../app/ports.js';

interface LevelRow {
  sku: string;
  warehouse_id: string;
  on_hand: number;
  reserved: number;
  low_stock_threshold: number;
  version: string;
  updated_at: Date;
}

interface ReservationRow {
  reservation_id: string;
  order_id: string;
  state: ReservationState;
  expires_at: Date;
  fingerprint: string;
  created_at: Date;
  updated_at: Date;
  lines: Array<{sku: string; warehouse_id: string; quantity: number}> | null;
}

interface AlertRow {
  alert_id: string;
  sku: string;
  warehouse_id: string;
  available: number;
  threshold: number;
  raised_at: Date;
  cleared_at: Date | null;
}

/** A level as json_agg renders a stock_item row (timestamps as strings). */
interface LevelJson extends Omit<LevelRow, 'updated_at' | 'version'> {
  updated_at: string;
  version: number | string;
}

function fromJson(j: LevelJson): StockLevel {
  return toLevel({
    ...j,
    version: String(j.version),
    updated_at: new Date(j.updated_at),
  });
}

/**
 * Runs a single statement again when PostgreSQL aborted it to break a deadlock or a
 * serialization conflict (possible when two multi-line baskets lock rows in a different
 * order): the statement had no effect, so repeating it is safe.
 */
async function retryOnConflict<T>(statement: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (err) {
      const code = (err as {code?: string}).code;
      if ((code !== '40P01' && code !== '40001') || attempt >= 3) throw err;
    }
  }
}

const LEVEL_COLUMNS =
  'sku, warehouse_id, on_hand, reserved, low_stock_threshold, version, updated_at';

function toLevel(row: LevelRow): StockLevel {
  return {
    sku: row.sku,
    warehouseId: row.warehouse_id,
    onHand: row.on_hand,
    reserved: row.reserved,
    lowStockThreshold: row.low_stock_threshold,
    version: Number(row.version),
    updatedAt: row.updated_at,
  };
}

function toReservation(row: ReservationRow): Reservation {
  return new Reservation(
    row.reservation_id,
    row.order_id,
    row.state,
    (row.lines ?? []).map(l => ({
      sku: l.sku,
      warehouseId: l.warehouse_id,
      quantity: l.quantity,
    })),
    row.expires_at,
    row.created_at,
    row.updated_at,
    row.fingerprint,
  );
}

function toAlert(row: AlertRow): LowStockAlert {
  return {
    id: row.alert_id,
    sku: row.sku,
    warehouseId: row.warehouse_id,
    state: row.cleared_at ? 'cleared' : 'active',
    available: row.available,
    threshold: row.threshold,
    raisedAt: row.raised_at,
    clearedAt: row.cleared_at ?? undefined,
  };
}

const SELECT_RESERVATION = `
  select r.*, (select json_agg(json_build_object('sku', l.sku, 'warehouse_id', l.warehouse_id,
                 'quantity', l.quantity) order by l.sku, l.warehouse_id)
               from reservation_line l where l.reservation_id = r.reservation_id) as lines
    from reservation r`;

/** Arrays of the same length for `unnest`: one statement moves every line. */
function lineArrays(
  lines: readonly ReservationLine[],
): [string[], string[], number[]] {
  return [
    lines.map(l => l.sku),
    lines.map(l => l.warehouseId),
    lines.map(l => l.quantity),
  ];
}

class PgInventoryTx implements InventoryTx {
  constructor(
    private readonly sql: Sql,
    private readonly alertEvent: (alert: LowStockAlert) => OutgoingEvent,
  ) {}

  async lockReservation(id: string): Promise<Reservation | undefined> {
    const [row] = await this.sql.query<ReservationRow>(
      `${SELECT_RESERVATION} where r.reservation_id = $1 for update of r`,
      [id],
    );
    return row && toReservation(row);
  }

  async saveReservationState(r: Reservation): Promise<void> {
    await this.sql.execute(
      'update reservation set state = $2, updated_at = $3 where reservation_id = $1',
      [r.id, r.state, r.updatedAt],
    );
  }

  takeUnits(lines: readonly ReservationLine[]): Promise<StockLevel[]> {
    return this.moveLines(
      lines,
      'on_hand = s.on_hand - l.quantity, reserved = s.reserved - l.quantity',
    );
  }

  returnUnits(lines: readonly ReservationLine[]): Promise<StockLevel[]> {
    return this.moveLines(lines, 'reserved = s.reserved - l.quantity');
  }

  private async moveLines(
    lines: readonly ReservationLine[],
    set: string,
  ): Promise<StockLevel[]> {
    const [skus, warehouses, quantities] = lineArrays(lines);
    const rows = await this.sql.query<LevelRow>(
      `update stock_item s set ${set}, version = s.version + 1, updated_at = now()
         from unnest($1::text[], $2::text[], $3::int[]) as l(sku, warehouse_id, quantity)
        where s.sku = l.sku and s.warehouse_id = l.warehouse_id
        returning s.sku, s.warehouse_id, s.on_hand, s.reserved, s.low_stock_threshold, s.version, s.updated_at`,
      [skus, warehouses, quantities],
    );
    return rows.map(toLevel);
  }

  async lockExpired(now: Date, limit: number): Promise<Reservation[]> {
    const rows = await this.sql.query<ReservationRow>(
      `${SELECT_RESERVATION}
        where r.state = 'active' and r.expires_at <= $1
        order by r.expires_at limit $2 for update of r skip locked`,
      [now, limit],
    );
    return rows.map(toReservation);
  }

  async lockLevel(
    sku: string,
    warehouseId: string,
  ): Promise<StockLevel | undefined> {
    const [row] = await this.sql.query<LevelRow>(
      `select ${LEVEL_COLUMNS} from stock_item where sku = $1 and warehouse_id = $2 for update`,
      [sku, warehouseId],
    );
    return row && toLevel(row);
  }

  async createLevel(sku: string, warehouseId: string): Promise<StockLevel> {
    // A concurrent restock of the same new SKU may win the insert; then lock its row.
    await this.sql.execute(
      'insert into stock_item (sku, warehouse_id) values ($1, $2) on conflict do nothing',
      [sku, warehouseId],
    );
    return (await this.lockLevel(sku, warehouseId))!;
  }

  async addOnHand(
    sku: string,
    warehouseId: string,
    delta: number,
  ): Promise<StockLevel> {
    const [row] = await this.sql.query<LevelRow>(
      `update stock_item set on_hand = on_hand + $3, version = version + 1, updated_at = now()
        where sku = $1 and warehouse_id = $2 returning ${LEVEL_COLUMNS}`,
      [sku, warehouseId, delta],
    );
    return toLevel(row);
  }

  async setThreshold(
    sku: string,
    warehouseId: string,
    threshold: number,
  ): Promise<StockLevel> {
    const [row] = await this.sql.query<LevelRow>(
      `update stock_item set low_stock_threshold = $3, version = version + 1, updated_at = now()
        where sku = $1 and warehouse_id = $2 returning ${LEVEL_COLUMNS}`,
      [sku, warehouseId, threshold],
    );
    return toLevel(row);
  }

  async recordAdjustment(a: {
    requestId: string;
    sku: string;
    warehouseId: string;
    delta: number;
    reason: AdjustmentReason;
    note: string;
    fingerprint: string;
  }): Promise<boolean> {
    const inserted = await this.sql.execute(
      `insert into stock_adjustment (request_id, sku, warehouse_id, delta, reason, note, fingerprint)
       values ($1, $2, $3, $4, $5, $6, $7) on conflict (request_id) do nothing`,
      [
        a.requestId,
        a.sku,
        a.warehouseId,
        a.delta,
        a.reason,
        a.note,
        a.fingerprint,
      ],
    );
    return inserted > 0;
  }

  async existingAdjustment(requestId: string) {
    const [row] = await this.sql.query<{
      fingerprint: string;
      sku: string;
      warehouse_id: string;
    }>(
      'select fingerprint, sku, warehouse_id from stock_adjustment where request_id = $1',
      [requestId],
    );
    return (
      row && {
        fingerprint: row.fingerprint,
        sku: row.sku,
        warehouseId: row.warehouse_id,
      }
    );
  }

  async raiseAlert(level: StockLevel): Promise<void> {
    const rows = await this.sql.query<AlertRow>(
      `insert into low_stock_alert (sku, warehouse_id, available, threshold)
       values ($1, $2, $3, $4) on conflict do nothing returning *`,
      [
        level.sku,
        level.warehouseId,
        level.onHand - level.reserved,
        level.lowStockThreshold,
      ],
    );
    await this.emit(rows);
  }

  async clearAlert(level: StockLevel): Promise<void> {
    const rows = await this.sql.query<AlertRow>(
      `update low_stock_alert set cleared_at = now()
        where sku = $1 and warehouse_id = $2 and cleared_at is null returning *`,
      [level.sku, level.warehouseId],
    );
    await this.emit(rows);
  }

  private async emit(rows: AlertRow[]): Promise<void> {
    await appendToOutbox(
      this.sql,
      rows.map(r => this.alertEvent(toAlert(r))),
    );
  }
}

export class PgInventoryStore implements InventoryStore {
  constructor(
    private readonly db: Database,
    private readonly alertEvent: (alert: LowStockAlert) => OutgoingEvent,
    /** Called after a transaction that wrote outbox rows committed. */
    private readonly afterCommit: () => void = () => {},
  ) {}

  async tx<T>(work: (tx: InventoryTx) => Promise<T>): Promise<T> {
    let wroteEvents = false;
    const result = await this.db.tx(sql =>
      work(
        new PgInventoryTx(sql, alert => {
          wroteEvents = true;
          return this.alertEvent(alert);
        }),
      ),
    );
    if (wroteEvents) this.afterCommit();
    return result;
  }

  async reserve(r: Reservation): Promise<ReserveOutcome> {
    const [skus, warehouses, quantities] = lineArrays(r.lines);
    try {
      const [row] = await retryOnConflict(() =>
        this.db.query<{inserted: string; levels: LevelJson[] | null}>(
          `with ins as (
             insert into reservation (reservation_id, order_id, state, expires_at, fingerprint, created_at, updated_at)
             values ($1, $2, 'active', $3, $4, $5, $5)
             on conflict (reservation_id) do nothing
             returning reservation_id),
           req as (
             select * from unnest($6::text[], $7::text[], $8::int[]) as l(sku, warehouse_id, quantity)),
           lines as (
             insert into reservation_line (reservation_id, sku, warehouse_id, quantity)
             select ins.reservation_id, req.sku, req.warehouse_id, req.quantity from ins, req
             returning 1),
           held as (
             update stock_item s set reserved = s.reserved + req.quantity, version = s.version + 1,
                                     updated_at = now()
               from req, ins
              where s.sku = req.sku and s.warehouse_id = req.warehouse_id
                and s.on_hand - s.reserved >= req.quantity
             returning ${LEVEL_COLUMNS.split(', ')
               .map(c => `s.${c}`)
               .join(', ')})
           select (select count(*) from ins) as inserted,
                  (select json_agg(held) from held) as levels,
                  -- All lines or none: any line not held aborts the whole statement.
                  agora_require((select count(*) from ins) = 0 or (select count(*) from held) = $9,
                                'agora:short') as complete`,
          [
            r.id,
            r.orderId,
            r.expiresAt,
            r.fingerprint,
            r.createdAt,
            skus,
            warehouses,
            quantities,
            r.lines.length,
          ],
        ),
      );
      if (row.inserted === '0') return {kind: 'exists'};
      return {kind: 'held', levels: (row.levels ?? []).map(fromJson)};
    } catch (err) {
      if ((err as {message?: string}).message === 'agora:short')
        return {kind: 'short'};
      throw err;
    }
  }

  async commitIfLive(
    reservationId: string,
    now: Date,
  ): Promise<{reservation: Reservation; levels: StockLevel[]} | undefined> {
    const [row] = await retryOnConflict(() =>
      this.db.query<{
        reservation:
          | (Omit<
              ReservationRow,
              'lines' | 'expires_at' | 'created_at' | 'updated_at'
            > & {
              expires_at: string;
              created_at: string;
              updated_at: string;
            })
          | null;
        lines: ReservationRow['lines'];
        levels: LevelJson[] | null;
      }>(
        // The domain rule (Reservation.commit) for the common case: active and unexpired.
        `with r as (
           update reservation set state = 'committed', updated_at = $2
            where reservation_id = $1 and state = 'active' and expires_at > $2
           returning *),
         taken as (
           update stock_item s set on_hand = s.on_hand - l.quantity, reserved = s.reserved - l.quantity,
                                   version = s.version + 1, updated_at = now()
             from reservation_line l join r using (reservation_id)
            where s.sku = l.sku and s.warehouse_id = l.warehouse_id
           returning ${LEVEL_COLUMNS.split(', ')
             .map(c => `s.${c}`)
             .join(', ')})
         select (select row_to_json(r) from r) as reservation,
                (select json_agg(json_build_object('sku', l.sku, 'warehouse_id', l.warehouse_id,
                          'quantity', l.quantity) order by l.sku, l.warehouse_id)
                   from reservation_line l join r using (reservation_id)) as lines,
                (select json_agg(taken) from taken) as levels`,
        [reservationId, now],
      ),
    );
    if (!row.reservation) return undefined;
    const r = row.reservation;
    return {
      reservation: toReservation({
        ...r,
        lines: row.lines,
        expires_at: new Date(r.expires_at),
        created_at: new Date(r.created_at),
        updated_at: new Date(r.updated_at),
      }),
      levels: (row.levels ?? []).map(fromJson),
    };
  }

  async availableFor(
    lines: readonly ReservationLine[],
  ): Promise<Array<number | undefined>> {
    const [skus, warehouses] = lineArrays(lines);
    const rows = await this.db.query<{i: number; available: number}>(
      `select l.i, s.on_hand - s.reserved as available
         from unnest($1::text[], $2::text[]) with ordinality as l(sku, warehouse_id, i)
         join stock_item s using (sku, warehouse_id)`,
      [skus, warehouses],
    );
    const byIndex = new Map(rows.map(r => [Number(r.i), r.available]));
    return lines.map((_, i) => byIndex.get(i + 1));
  }

  async levelsWithStaleAlerts(
    limit: number,
  ): Promise<Array<{level: StockLevel; alertOpen: boolean}>> {
    const rows = await this.db.query<LevelRow & {alert_open: boolean}>(
      `select s.*, a.alert_id is not null as alert_open
         from stock_item s
         left join low_stock_alert a
           on a.sku = s.sku and a.warehouse_id = s.warehouse_id and a.cleared_at is null
        where (s.low_stock_threshold > 0 and s.on_hand - s.reserved <= s.low_stock_threshold)
              <> (a.alert_id is not null)
        limit $1`,
      [limit],
    );
    return rows.map(r => ({level: toLevel(r), alertOpen: r.alert_open}));
  }

  async levelsOf(skus: readonly string[]): Promise<StockLevel[]> {
    const rows = await this.db.query<LevelRow>(
      `select ${LEVEL_COLUMNS} from stock_item where sku = any($1::text[]) order by sku, warehouse_id`,
      [skus],
    );
    return rows.map(toLevel);
  }

  async allLevels(): Promise<StockLevel[]> {
    const rows = await this.db.query<LevelRow>(
      `select ${LEVEL_COLUMNS} from stock_item`,
    );
    return rows.map(toLevel);
  }

  async scanReservations(q: ScanQuery): Promise<Reservation[]> {
    const c = scanCondition(q, 'r', 'reservation_id');
    const rows = await this.db.query<ReservationRow>(
      `${SELECT_RESERVATION} where ${c.where}
        order by ${c.order} limit $${c.params.length + 1}`,
      [...c.params, q.limit],
    );
    return rows.map(toReservation);
  }

  async findReservation(id: string): Promise<Reservation | undefined> {
    const [row] = await this.db.query<ReservationRow>(
      `${SELECT_RESERVATION} where r.reservation_id = $1`,
      [id],
    );
    return row && toReservation(row);
  }

  async listAlerts(
    includeCleared: boolean,
    limit: number,
    before?: string,
  ): Promise<LowStockAlert[]> {
    const rows = await this.db.query<AlertRow>(
      `select * from low_stock_alert
        where ($1 or cleared_at is null) and ($2::bigint is null or alert_id < $2::bigint)
        order by alert_id desc limit $3`,
      [includeCleared, before ?? null, limit],
    );
    return rows.map(toAlert);
  }
}
