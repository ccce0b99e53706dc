/**
 * The one mapper between the wire Money message and the Money value object.
 */
import {create} from '@bufbuild/protobuf';
import {
  type Money as MoneyMessage,
  MoneySchema,
} from '../../../gen/agora/type/v1/money_pb.js';
import {InvalidArgumentError} from '../errors/domain_error.js';
import {Money} from './money.js';

/** Wire → domain. `field` names the request field in errors (e.g. "price"). */
export function moneyFromProto(
  message: MoneyMessage | undefined,
  field: string,
): Money {
  if (!message) throw new InvalidArgumentError(field, 'is required');
  return Money.parse(message.amount, message.currencyCode, field);
}

/** Domain → wire. */
export function moneyToProto(money: Money): MoneyMessage {
  return create(MoneySchema, {
    currencyCode: money.currencyCode,
    amount: money.toString(),
  });
}
