/**
 * Ids derived from other ids (RFC 4122 version 5 style, SHA-1 of a name): the saga's
 * compensations and follow-up calls must carry the same idempotency key on every retry,
 * including retries by another replica after a crash, without storing it first.
 */
import {createHash} from 'node:crypto';

/** A UUID fully determined by `parts` (e.g. derivedId(orderId, "cancel-refund")). */
export function derivedId(...parts: string[]): string {
  const hash = createHash('sha1').update(parts.join('\u0000')).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50; // version 5
  hash[8] = (hash[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
