/**
 * OrderService handlers: request → command, one use case, result → response.
 */
import {create, fromBinary, toBinary} from '@bufbuild/protobuf';
import type {HandlerContext, ServiceImpl} from '@connectrpc/connect';
import * as ordereventsv1 from '../../../../gen/agora/order/v1/order_events_pb.js';
import {
  WatchOrderEventsResponseSchema,
  type OrderService,
} from '../../../../gen/agora/order/v1/order_service_pb.js';
import {moneyFromProto} from '../../../common/money/money_proto.js';
import {customerScope} from '../../../common/auth/principal.js';
import {principalOf} from '../../../common/rpc/call_pipeline.js';
import {withCallDeadline} from '../../../common/rpc/call_deadline.js';
import {fanOut, Hub, liveEvents} from '../../../common/rpc/streams.js';
import {
  annotateCall,
  ORDER_ID_ATTRIBUTE,
} from '../../../common/telemetry/trace_context.js';
import type {AfterSale} from '../app/after_sale.js';
import type {PlaceOrder} from '../app/place_order.js';
import type {ReadOrders} from '../app/read_orders.js';
import type {Reconcile} from '../app/reconcile.js';
import {requireSameCustomer} from '../app/customer_scope.js';
import {orderToProto} from './mapper.js';
import {reportToProto} from './reconciliation_mapper.js';

export interface OrderUseCases {
  place: PlaceOrder;
  read: ReadOrders;
  afterSale: AfterSale;
  reconcile: Reconcile;
  /** Order events from every replica (fed by the event bus), protobuf bytes. */
  events: Hub<Uint8Array>;
}

/** An order event as every watcher receives it: whose it is, and its response bytes. */
interface OrderEventFrame {
  customerId: string;
  bytes: Uint8Array;
}

export function createOrderService(
  uc: OrderUseCases,
): ServiceImpl<typeof OrderService> {
  // Each event decoded and encoded once, however many watch it.
  const feed = fanOut<Uint8Array, OrderEventFrame>(
    push => uc.events.subscribe(push),
    body => {
      const event = fromBinary(ordereventsv1.OrderEventSchema, body);
      return {
        customerId: event.order?.customerId ?? '',
        bytes: toBinary(
          WatchOrderEventsResponseSchema,
          create(WatchOrderEventsResponseSchema, {event}),
        ),
      };
    },
    f => f.customerId,
  );
  return {
    async createOrder(req, ctx) {
      requireSameCustomer(req.customerId, scopeOf(ctx));
      // The saga's calls to Pricing, Inventory and Payment end with the caller's
      // deadline (less a margin); its undo runs on regardless (PlaceOrder's `detach`).
      const order = await withCallDeadline(deadlineOf(ctx), () =>
        uc.place.execute({
          requestId: req.requestId,
          customerId: req.customerId,
          currencyCode: req.currencyCode,
          lines: req.lines.map(l => ({sku: l.sku, quantity: l.quantity})),
          paymentToken: req.paymentToken,
        }),
      );
      annotateCall({[ORDER_ID_ATTRIBUTE]: order.id});
      return {order: orderToProto(order)};
    },

    async getOrder(req, ctx) {
      annotateCall({[ORDER_ID_ATTRIBUTE]: req.orderId});
      return {
        order: orderToProto(await uc.read.get(req.orderId, scopeOf(ctx))),
      };
    },

    async listOrders(req, ctx) {
      requireSameCustomer(req.customerId, scopeOf(ctx));
      const page = await uc.read.list(
        req.customerId,
        req.pageSize,
        req.pageToken,
      );
      return {orders: page.orders.map(orderToProto), nextPageToken: page.next};
    },

    async cancelOrder(req, ctx) {
      annotateCall({[ORDER_ID_ATTRIBUTE]: req.orderId});
      const order = await uc.afterSale.cancel(
        req.orderId,
        req.reason,
        scopeOf(ctx),
      );
      return {order: orderToProto(order)};
    },

    async refundOrder(req, ctx) {
      annotateCall({[ORDER_ID_ATTRIBUTE]: req.orderId});
      const amount = req.amount
        ? moneyFromProto(req.amount, 'amount')
        : undefined;
      const order = await uc.afterSale.refund(
        req.orderId,
        req.requestId,
        amount,
        req.reason,
        scopeOf(ctx),
      );
      return {order: orderToProto(order)};
    },

    async reconcile(req) {
      return {report: reportToProto(await uc.reconcile.onDemand(req.dryRun))};
    },

    async *watchOrderEvents(req, ctx: HandlerContext) {
      const scope = scopeOf(ctx);
      requireSameCustomer(req.customerId, scope);
      // A customer sees only its own orders' events, whatever it asked for.
      const customerId = scope ?? req.customerId;
      // Filtered as it is published, so a watcher wakes only for its own events.
      const events = liveEvents(ctx, WatchOrderEventsResponseSchema, push =>
        feed.subscribe(
          f => push(f.bytes),
          customerId ? [customerId] : undefined,
        ),
      );
      try {
        yield* events;
      } finally {
        events.close();
      }
    },
  };
}

function deadlineOf(ctx: HandlerContext): number | undefined {
  const left = ctx.timeoutMs();
  return left === undefined ? undefined : Date.now() + left;
}

function scopeOf(ctx: HandlerContext): string | undefined {
  return customerScope(principalOf(ctx));
}
