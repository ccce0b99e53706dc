/**
 * Stock reads: one SKU, many SKUs, alerts, reservations. Reads come from PostgreSQL,
 * the truth; Redis serves other services that need the level in real time.
 */
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import {
  decodeScanCursor,
  encodeScanCursor,
} from '../../../common/paging/scan_cursor.js';
import {UnknownReservationError, UnknownSkuError} from '../domain/errors.js';
import type {Reservation} from '../domain/reservation.js';
import {available, type StockLevel} from '../domain/stock_level.js';
import type {InventoryStore, LowStockAlert} from './ports.js';

/** A SKU's stock over all warehouses. */
export interface SkuStock {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
  warehouses: StockLevel[];
}

export class ReadStock {
  constructor(private readonly store: InventoryStore) {}

  /** Stock per SKU in request order; NOT_FOUND names the first SKU never stocked. */
  async stockOf(skus: readonly string[]): Promise<SkuStock[]> {
    const levels = await this.store.levelsOf(skus);
    return skus.map(sku => {
      const warehouses = levels.filter(l => l.sku === sku);
      if (warehouses.length === 0) throw new UnknownSkuError(sku);
      return {
        sku,
        onHand: warehouses.reduce((s, l) => s + l.onHand, 0),
        reserved: warehouses.reduce((s, l) => s + l.reserved, 0),
        available: warehouses.reduce((s, l) => s + available(l), 0),
        warehouses,
      };
    });
  }

  async reservation(id: string): Promise<Reservation> {
    const found = await this.store.findReservation(id);
    if (!found) throw new UnknownReservationError(id);
    return found;
  }

  /** A page of alerts, newest first, and the cursor of the next page. */
  async alerts(
    includeCleared: boolean,
    pageSize: number,
    pageToken: string,
  ): Promise<{alerts: LowStockAlert[]; next: string}> {
    if (pageToken && !/^\d{1,18}$/.test(pageToken)) {
      throw new InvalidArgumentError(
        'page_token',
        'is not a token from a previous response',
      );
    }
    const limit = pageSize || 50;
    const alerts = await this.store.listAlerts(
      includeCleared,
      limit + 1,
      pageToken || undefined,
    );
    const more = alerts.length > limit;
    const page = alerts.slice(0, limit);
    return {alerts: page, next: more ? page[page.length - 1].id : ''};
  }

  /**
   * A page of reservations for reconciliation, by update time, and the next page's
   * token (empty on the last page).
   */
  async scanReservations(q: {
    updatedSince: Date | undefined;
    orderIds: readonly string[];
    pageSize: number;
    pageToken: string;
  }): Promise<{reservations: Reservation[]; next: string}> {
    const limit = q.pageSize || 200;
    const rows = await this.store.scanReservations({
      updatedSince: q.updatedSince,
      orderIds: q.orderIds,
      after: decodeScanCursor(q.pageToken),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      reservations: page,
      next:
        rows.length > limit && last
          ? encodeScanCursor({updatedAt: last.updatedAt, id: last.id})
          : '',
    };
  }
}
