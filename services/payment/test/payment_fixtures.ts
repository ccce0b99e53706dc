/**
 * Payments for tests: an authorization of 10.00 USD for order-1, as the use cases and
 * mappers start from it.
 */
import {Money} from '../../common/money/money.js';
import {Payment} from '../src/domain/payment.js';

export function authorizedPayment(opts: {
  id: string;
  now: Date;
  provider?: string;
  providerReference?: string;
}): Payment {
  return Payment.authorized({
    id: opts.id,
    orderId: 'order-1',
    amount: Money.parse('10.00', 'USD'),
    provider: opts.provider ?? 'mock',
    providerReference: opts.providerReference ?? 'auth_0',
    requestFingerprint: 'print',
    now: opts.now,
  });
}
