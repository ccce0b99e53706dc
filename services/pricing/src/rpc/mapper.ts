/**
 * Proto <-> domain for Pricing's API. The price-change events (events/pricing_events.ts)
 * carry a change in this shape; the order events Pricing consumes are decoded in
 * events/order_events.ts.
 */
import {create} from '@bufbuild/protobuf';
import {timestampFromDate} from '@bufbuild/protobuf/wkt';
import * as pricingv1 from '../../../../gen/agora/pricing/v1/pricing_pb.js';
import * as pricingeventsv1 from '../../../../gen/agora/pricing/v1/pricing_events_pb.js';
import {moneyToProto} from '../../../common/money/money_proto.js';
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import type {PriceChange} from '../app/ports.js';
import type {Price} from '../domain/price.js';
import type {PriceRule, RuleCondition} from '../domain/price_rule.js';
import type {Quote} from '../domain/quote.js';

export function priceToProto(p: Price): pricingv1.Price {
  return create(pricingv1.PriceSchema, {
    sku: p.sku,
    basePrice: moneyToProto(p.base),
    effectivePrice: moneyToProto(p.effective),
    appliedRuleIds: [...p.appliedRuleIds],
    updateTime: timestampFromDate(p.updatedAt),
  });
}

export function quoteToProto(q: Quote): pricingv1.Quote {
  return create(pricingv1.QuoteSchema, {
    quoteId: q.id,
    currencyCode: q.currencyCode,
    lines: q.lines.map(l => ({
      sku: l.sku,
      quantity: l.quantity,
      unitPrice: moneyToProto(l.unitPrice),
      lineTotal: moneyToProto(l.lineTotal),
      appliedRuleIds: [...l.appliedRuleIds],
    })),
    total: moneyToProto(q.total),
    createTime: timestampFromDate(q.createdAt),
    expireTime: timestampFromDate(q.expiresAt),
  });
}

export function conditionFromProto(
  condition:
    pricingv1.PriceRule['condition'] | {case: undefined; value?: undefined},
): RuleCondition {
  switch (condition.case) {
    case 'stockAtOrBelow':
      return {kind: 'stock_at_or_below', threshold: condition.value.threshold};
    case 'demandAtOrAbove': {
      const w = condition.value.window;
      if (!w)
        throw new InvalidArgumentError(
          'demand_at_or_above.window',
          'is required',
        );
      return {
        kind: 'demand_at_or_above',
        units: condition.value.units,
        windowMs: Number(w.seconds) * 1000 + Math.floor(w.nanos / 1e6),
      };
    }
    default:
      throw new InvalidArgumentError(
        'condition',
        'one of stock_at_or_below or demand_at_or_above is required',
      );
  }
}

export function ruleToProto(r: PriceRule): pricingv1.PriceRule {
  const c = r.condition;
  return create(pricingv1.PriceRuleSchema, {
    ruleId: r.id,
    name: r.name,
    sku: r.sku ?? '',
    condition:
      c.kind === 'stock_at_or_below'
        ? {case: 'stockAtOrBelow', value: {threshold: c.threshold}}
        : {
            case: 'demandAtOrAbove',
            value: {
              units: c.units,
              window: {
                seconds: BigInt(Math.floor(c.windowMs / 1000)),
                nanos: (c.windowMs % 1000) * 1e6,
              },
            },
          },
    adjustmentPercent: r.adjustmentPercent.toFixed(),
    priority: r.priority,
    enabled: r.enabled,
    createTime: timestampFromDate(r.createdAt),
  });
}

export function changeToProto(c: PriceChange): pricingeventsv1.PriceChange {
  return create(pricingeventsv1.PriceChangeSchema, {
    sku: c.sku,
    oldPrice: c.oldPrice && moneyToProto(c.oldPrice),
    newPrice: moneyToProto(c.newPrice),
    cause:
      c.cause === 'base_price_set'
        ? pricingeventsv1.PriceChangeCause.BASE_PRICE_SET
        : pricingeventsv1.PriceChangeCause.RULE,
    ruleIds: [...c.ruleIds],
    changeTime: timestampFromDate(c.changedAt),
  });
}
