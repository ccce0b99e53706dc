import {fromBinary} from '@bufbuild/protobuf';
import * as pricingeventsv1 from '../../../../gen/agora/pricing/v1/pricing_events_pb.js';
import {Money} from '../../../common/money/money.js';
import {priceChangedEvent} from './pricing_events.js';

describe('priceChangedEvent()', () => {
  it('encodes a change as agora.pricing.v1.PriceChange under pricing.price_changed', () => {
    const event = priceChangedEvent({
      sku: 'A',
      currencyCode: 'USD',
      oldPrice: undefined,
      newPrice: Money.parse('19.99', 'USD'),
      cause: 'base_price_set',
      ruleIds: [],
      changedAt: new Date('2026-12-04T10:00:00Z'),
    });

    // The outbox stores this name and consumers decode by it: it must never change.
    expect(event.type).toBe('agora.pricing.v1.PriceChange');
    expect(event.topic).toBe('pricing.price_changed');
    expect(event.eventId).toMatch(/^[0-9a-f-]{36}$/);
    const decoded = fromBinary(pricingeventsv1.PriceChangeSchema, event.body);
    expect(decoded.sku).toBe('A');
    expect(decoded.oldPrice).toBeUndefined();
    expect(decoded.newPrice?.amount).toBe('19.99');
    expect(decoded.cause).toBe(pricingeventsv1.PriceChangeCause.BASE_PRICE_SET);
  });
});
