/**
 * The outbox row of one integration event, built from a protobuf message and its schema,
 * so that the stored type name and the bytes always come from the same schema. Consumers
 * decode by that name: a name that did not match the bytes would not fail, it would
 * decode as some other message with the same field numbers.
 */
import {
  toBinary,
  type DescMessage,
  type MessageShape,
} from '@bufbuild/protobuf';
import type {OutgoingEvent} from './event_bus.js';

/**
 * `message` encoded as `schema` under routing key `topic` (one of topics.ts). `eventId`
 * is what consumers deduplicate on: pass the domain event's own id where it has one, so
 * a retried write is the same event; otherwise a fresh UUID.
 */
export function encodeEvent<Desc extends DescMessage>(
  topic: string,
  schema: Desc,
  message: MessageShape<Desc>,
  eventId: string = crypto.randomUUID(),
): OutgoingEvent {
  return {
    topic,
    eventId,
    type: schema.typeName,
    body: toBinary(schema, message),
  };
}
