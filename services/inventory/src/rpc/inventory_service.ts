/**
 * InventoryService handlers: request → command, one use case, result → response.
 */
import {create, fromBinary, toBinary} from '@bufbuild/protobuf';
import {timestampDate} from '@bufbuild/protobuf/wkt';
import type {HandlerContext, ServiceImpl} from '@connectrpc/connect';
import * as inventoryeventsv1 from '../../../../gen/agora/inventory/v1/inventory_events_pb.js';
import {
  WatchLowStockAlertsResponseSchema,
  WatchStockResponseSchema,
  type InventoryService,
} from '../../../../gen/agora/inventory/v1/inventory_service_pb.js';
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import {principalOf} from '../../../common/rpc/call_pipeline.js';
import {fanOut, Hub, liveEvents} from '../../../common/rpc/streams.js';
import {durationFromSeconds} from '../../../common/rpc/durations.js';
import type {AdjustStock} from '../app/adjust_stock.js';
import type {CheckStockMirror} from '../app/check_stock_mirror.js';
import type {
  CommitReservation,
  ReleaseReservation,
} from '../app/finish_reservation.js';
import type {ReadStock} from '../app/read_stock.js';
import type {ReserveStock} from '../app/reserve_stock.js';
import type {SetLowStockThreshold} from '../app/set_low_stock_threshold.js';
import type {StockLevel} from '../domain/stock_level.js';
import {
  alertToProto,
  levelToProto,
  reasonFromProto,
  reservationToProto,
  skuStockToProto,
} from './mapper.js';

export interface InventoryUseCases {
  reserve: ReserveStock;
  commit: CommitReservation;
  release: ReleaseReservation;
  adjust: AdjustStock;
  setThreshold: SetLowStockThreshold;
  read: ReadStock;
  checkMirror: CheckStockMirror;
  /** Live stock changes, all replicas (fed by the Redis mirror). */
  watchLevels(
    skus: readonly string[] | undefined,
    fn: (level: StockLevel) => void,
  ): () => void;
  /** Live alert events, all replicas (fed by the event bus), as protobuf bytes. */
  alertEvents: Hub<Uint8Array>;
}

/** The longest reservation a caller other than the Order service may ask for. */
const OPERATOR_MAX_TTL_MS = 15 * 60_000;

/** A stock change as every watcher receives it: its SKU and its response bytes. */
interface StockFrame {
  sku: string;
  bytes: Uint8Array;
}

export function createInventoryService(
  uc: InventoryUseCases,
): ServiceImpl<typeof InventoryService> {
  // Each change and each alert encoded once, however many watch it.
  const stockFeed = fanOut<StockLevel, StockFrame>(
    push => uc.watchLevels(undefined, push),
    level => ({
      sku: level.sku,
      bytes: toBinary(
        WatchStockResponseSchema,
        create(WatchStockResponseSchema, {level: levelToProto(level)}),
      ),
    }),
    f => f.sku,
  );
  const alertFeed = fanOut<Uint8Array, Uint8Array>(
    push => uc.alertEvents.subscribe(push),
    body =>
      toBinary(
        WatchLowStockAlertsResponseSchema,
        create(WatchLowStockAlertsResponseSchema, {
          alert: fromBinary(inventoryeventsv1.LowStockAlertSchema, body),
        }),
      ),
  );
  return {
    async reserveStock(req, ctx) {
      const ttl = req.ttl;
      const ttlMs = ttl
        ? Number(ttl.seconds) * 1000 + Math.floor(ttl.nanos / 1e6)
        : undefined;
      // Only the Order service's saga may hold stock for long; anyone else (an operator
      // by hand) gets at most the default lease, so a mistake cannot freeze stock for a day.
      if (
        principalOf(ctx).kind !== 'service' &&
        ttlMs !== undefined &&
        ttlMs > OPERATOR_MAX_TTL_MS
      ) {
        throw new InvalidArgumentError(
          'ttl',
          `must be at most ${OPERATOR_MAX_TTL_MS / 60_000} minutes for callers other than the Order service`,
        );
      }
      const reservation = await uc.reserve.execute({
        reservationId: req.reservationId,
        orderId: req.orderId,
        lines: req.lines.map(l => ({
          sku: l.sku,
          warehouseId: l.warehouseId,
          quantity: l.quantity,
        })),
        ttlMs,
      });
      return {reservation: reservationToProto(reservation)};
    },

    async commitReservation(req) {
      return {
        reservation: reservationToProto(
          await uc.commit.execute(req.reservationId),
        ),
      };
    },

    async releaseReservation(req) {
      return {
        reservation: reservationToProto(
          await uc.release.execute(req.reservationId),
        ),
      };
    },

    async getReservation(req) {
      return {
        reservation: reservationToProto(
          await uc.read.reservation(req.reservationId),
        ),
      };
    },

    async scanReservations(req) {
      const page = await uc.read.scanReservations({
        updatedSince: req.updatedSince && timestampDate(req.updatedSince),
        orderIds: req.orderIds,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return {
        reservations: page.reservations.map(reservationToProto),
        nextPageToken: page.next,
      };
    },

    async checkStockMirror(req) {
      const check = await uc.checkMirror.execute(req.repair);
      return {
        mismatches: check.mismatches.map(m => ({
          sku: m.sku,
          warehouseId: m.warehouseId,
          cause: m.cause,
        })),
        levelsChecked: check.levelsChecked,
        repairedSkus: check.repairedSkus,
        outboxLag: durationFromSeconds(check.outboxLagSeconds),
      };
    },

    async getStock(req) {
      const [stock] = await uc.read.stockOf([req.sku]);
      return {stock: skuStockToProto(stock)};
    },

    async batchGetStock(req) {
      return {stocks: (await uc.read.stockOf(req.skus)).map(skuStockToProto)};
    },

    async adjustStock(req) {
      const level = await uc.adjust.execute({
        requestId: req.requestId,
        sku: req.sku,
        warehouseId: req.warehouseId,
        delta: req.delta,
        reason: reasonFromProto(req.reason),
        note: req.note,
      });
      return {level: levelToProto(level)};
    },

    async setLowStockThreshold(req) {
      const level = await uc.setThreshold.execute(
        req.sku,
        req.warehouseId,
        req.threshold,
      );
      return {level: levelToProto(level)};
    },

    async *watchStock(req, ctx: HandlerContext) {
      const skus = req.skus.length > 0 ? req.skus : undefined;
      // Subscribe before reading the snapshot so no change falls between the two;
      // versions let the client drop a change older than the snapshot.
      // Filtered as it is published, so a watcher wakes only for its own SKUs.
      const changes = liveEvents(ctx, WatchStockResponseSchema, push =>
        stockFeed.subscribe(f => push(f.bytes), skus),
      );
      try {
        if (skus) {
          const snapshot = await uc.read.stockOf(skus);
          for (const stock of snapshot) {
            for (const level of stock.warehouses)
              yield {level: levelToProto(level)};
          }
        }
        yield* changes;
      } finally {
        changes.close();
      }
    },

    async listLowStockAlerts(req) {
      const page = await uc.read.alerts(
        req.includeCleared,
        req.pageSize,
        req.pageToken,
      );
      return {alerts: page.alerts.map(alertToProto), nextPageToken: page.next};
    },

    async *watchLowStockAlerts(_req, ctx: HandlerContext) {
      const alerts = liveEvents(ctx, WatchLowStockAlertsResponseSchema, push =>
        alertFeed.subscribe(push),
      );
      try {
        yield* alerts;
      } finally {
        alerts.close();
      }
    },
  };
}
