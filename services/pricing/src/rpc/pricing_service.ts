/**
 * PricingService handlers: request → command, one use case, result → response.
 */
import {create, fromBinary, toBinary} from '@bufbuild/protobuf';
import type {HandlerContext, ServiceImpl} from '@connectrpc/connect';
import * as pricingeventsv1 from '../../../../gen/agora/pricing/v1/pricing_events_pb.js';
import {
  WatchPricesResponseSchema,
  type PricingService,
} from '../../../../gen/agora/pricing/v1/pricing_service_pb.js';
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import {moneyFromProto} from '../../../common/money/money_proto.js';
import {fanOut, Hub, liveEvents} from '../../../common/rpc/streams.js';
import type {ManageRules} from '../app/manage_rules.js';
import type {PricingStore} from '../app/ports.js';
import type {QuotePrices} from '../app/quote_prices.js';
import type {SetBasePrice} from '../app/set_base_price.js';
import {
  changeToProto,
  conditionFromProto,
  priceToProto,
  quoteToProto,
  ruleToProto,
} from './mapper.js';

export interface PricingUseCases {
  setBasePrice: SetBasePrice;
  quotes: QuotePrices;
  rules: ManageRules;
  store: PricingStore;
  /** Price-change events from every replica (fed by the event bus), protobuf bytes. */
  priceChanges: Hub<Uint8Array>;
}

/** A price change as every watcher receives it: its SKU and its response bytes. */
interface PriceFrame {
  sku: string;
  bytes: Uint8Array;
}

export function createPricingService(
  uc: PricingUseCases,
): ServiceImpl<typeof PricingService> {
  // Each change decoded and encoded once, however many watch it.
  const feed = fanOut<Uint8Array, PriceFrame>(
    push => uc.priceChanges.subscribe(push),
    body => {
      const change = fromBinary(pricingeventsv1.PriceChangeSchema, body);
      return {
        sku: change.sku,
        bytes: toBinary(
          WatchPricesResponseSchema,
          create(WatchPricesResponseSchema, {change}),
        ),
      };
    },
    f => f.sku,
  );
  return {
    async setBasePrice(req) {
      const price = await uc.setBasePrice.execute(
        req.sku,
        moneyFromProto(req.price, 'price'),
      );
      return {price: priceToProto(price)};
    },

    async getPrices(req) {
      return {
        prices: (await uc.quotes.prices(req.skus, req.currencyCode)).map(
          priceToProto,
        ),
      };
    },

    async createQuote(req) {
      const quote = await uc.quotes.quote(
        req.currencyCode,
        req.lines.map(l => ({sku: l.sku, quantity: l.quantity})),
      );
      return {quote: quoteToProto(quote)};
    },

    async createPriceRule(req) {
      const rule = await uc.rules.create({
        name: req.name,
        sku: req.sku || undefined,
        condition: conditionFromProto(req.condition),
        adjustmentPercent: req.adjustmentPercent,
        priority: req.priority,
        enabled: !req.disabled,
      });
      return {rule: ruleToProto(rule)};
    },

    async listPriceRules() {
      return {rules: (await uc.rules.list()).map(ruleToProto)};
    },

    async deletePriceRule(req) {
      await uc.rules.delete(req.ruleId);
      return {};
    },

    async *watchPrices(req, ctx: HandlerContext) {
      const skus = req.skus.length > 0 ? new Set(req.skus) : undefined;
      // Filtered as it is published, so a watcher wakes only for its own SKUs.
      const changes = liveEvents(ctx, WatchPricesResponseSchema, push =>
        feed.subscribe(f => push(f.bytes), skus),
      );
      try {
        yield* changes;
      } finally {
        changes.close();
      }
    },

    async listPriceHistory(req) {
      if (req.pageToken && !/^\d{1,18}$/.test(req.pageToken)) {
        throw new InvalidArgumentError(
          'page_token',
          'is not a token from a previous response',
        );
      }
      const limit = req.pageSize || 50;
      const changes = await uc.store.history(
        req.sku,
        req.currencyCode,
        limit + 1,
        req.pageToken || undefined,
      );
      const page = changes.slice(0, limit);
      return {
        changes: page.map(changeToProto),
        nextPageToken: changes.length > limit ? page[page.length - 1].id : '',
      };
    },
  };
}
