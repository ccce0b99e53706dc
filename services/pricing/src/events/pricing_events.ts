/**
 * The integration events Pricing publishes: one agora.pricing.v1.PriceChange
 * (proto/agora/pricing/v1/pricing_events.proto) per change of an effective price,
 * written to the outbox in the same transaction as the change. The change message is
 * also what WatchPrices and ListPriceHistory answer, so rpc/mapper.ts maps it; this file
 * owns only the envelope. Consumers decode by the type name stored with each row, so it
 * must stay agora.pricing.v1.PriceChange.
 */
import * as pricingeventsv1 from '../../../../gen/agora/pricing/v1/pricing_events_pb.js';
import {encodeEvent} from '../../../common/messaging/encode_event.js';
import type {OutgoingEvent} from '../../../common/messaging/event_bus.js';
import {PRICE_CHANGED_TOPIC} from '../../../common/messaging/topics.js';
import type {PriceChange} from '../app/ports.js';
import {changeToProto} from '../rpc/mapper.js';

/** The integration event for a change of an effective price (written to the outbox). */
export function priceChangedEvent(c: PriceChange): OutgoingEvent {
  return encodeEvent(
    PRICE_CHANGED_TOPIC,
    pricingeventsv1.PriceChangeSchema,
    changeToProto(c),
  );
}
