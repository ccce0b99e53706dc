/**
 * The integration events Payment publishes: one per thing that can happen to a payment
 * (payment.authorized, .declined, .captured, .voided, .refunded), written to the outbox in
 * the same transaction as the change. The payload is the whole payment after the change
 * as agora.payment.v1.Payment, the API resource (rpc/mapper.ts maps it), so Payment has
 * no payment_events.proto of its own; consumers decode by the type name stored with each
 * row, so it must stay agora.payment.v1.Payment.
 */
import * as paymentv1 from '../../../../gen/agora/payment/v1/payment_pb.js';
import {encodeEvent} from '../../../common/messaging/encode_event.js';
import type {OutgoingEvent} from '../../../common/messaging/event_bus.js';
import {PAYMENT_TOPICS} from '../../../common/messaging/topics.js';
import type {Payment, PaymentEvent} from '../domain/payment.js';
import {paymentToProto} from '../rpc/mapper.js';

/**
 * The integration event for something that happened to a payment (written to the
 * outbox): the whole payment after the change, as agora.payment.v1.Payment.
 */
export function paymentEvent(p: Payment, event: PaymentEvent): OutgoingEvent {
  return encodeEvent(
    PAYMENT_TOPICS[event],
    paymentv1.PaymentSchema,
    paymentToProto(p),
  );
}
