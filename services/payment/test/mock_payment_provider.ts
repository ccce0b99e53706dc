/**
 * A PaymentProvider of jest mocks that approves everything with numbered references, so
 * tests can count calls and script failures (`mockRejectedValueOnce`). `delayMs` makes
 * every call take that long, so racing transactions really overlap.
 */
import {jest} from '@jest/globals';
import type {PaymentProvider} from '../src/app/ports.js';

export function mockPaymentProvider(options: {delayMs?: number} = {}) {
  let n = 0;
  const answer = async (kind: string) => {
    if (options.delayMs) {
      await new Promise(resolve => setTimeout(resolve, options.delayMs));
    }
    return {reference: `${kind}_${++n}`};
  };
  return {
    name: 'mock',
    authorize: jest.fn<PaymentProvider['authorize']>(async () => ({
      approved: true as const,
      ...(await answer('auth')),
    })),
    capture: jest.fn<PaymentProvider['capture']>(() => answer('capture')),
    void: jest.fn<PaymentProvider['void']>(() => answer('void')),
    refund: jest.fn<PaymentProvider['refund']>(() => answer('refund')),
    lookup: jest.fn<PaymentProvider['lookup']>(async () => undefined),
  } satisfies PaymentProvider;
}

export type MockPaymentProvider = ReturnType<typeof mockPaymentProvider>;
