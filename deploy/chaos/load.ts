/**
 * The chaos suite's steady load: `concurrency` loops, each placing one order at a time
 * (one line, a random SKU, mostly an approving card, some declining ones), and now and
 * then refunding part of a paid order or cancelling it. Every answer is counted by
 * method and gRPC status code. No client retries: the counts show what callers saw.
 */
import {randomUUID} from 'node:crypto';
import {Code, ConnectError} from '@connectrpc/connect';
import {OrderState} from '../../gen/agora/order/v1/order_pb.js';
import {OrderService} from '../../gen/agora/order/v1/order_service_pb.js';
import {createGrpcClient} from '../../services/common/rpc/grpc_client.js';

export interface LoadOptions {
  orderAddress: string;
  /** An admin's `authorization` value (admins may order for any customer). */
  admin: string;
  skus: readonly string[];
  concurrency: number;
  /** Deadline of each call, as a client would set it. */
  callTimeoutMs: number;
  /** Share of orders paid with a declining card (they end FAILED). */
  declineShare?: number;
  /** Share of paid orders then partly refunded, and then cancelled. */
  refundShare?: number;
  cancelShare?: number;
}

export interface RunningLoad {
  /** Stops starting calls and waits for those in flight; returns the counts. */
  stop(): Promise<Record<string, number>>;
}

/** gRPC's name of a code: Code.DeadlineExceeded → DEADLINE_EXCEEDED. */
export function grpcCodeName(code: Code | 'OK'): string {
  if (code === 'OK') return 'OK';
  return Code[code].replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

export function startLoad(opts: LoadOptions): RunningLoad {
  const client = createGrpcClient(OrderService, opts.orderAddress, {
    authorization: () => opts.admin,
    retries: 0,
  });
  const counts: Record<string, number> = {};
  const count = (method: string, code: Code | 'OK') => {
    const key = `${method} ${grpcCodeName(code)}`;
    counts[key] = (counts[key] ?? 0) + 1;
  };
  const timed = {timeoutMs: opts.callTimeoutMs};
  let running = true;
  /** Runs `call`, counts its answer; an error answer slows this loop down a little. */
  const attempt = async <T>(
    method: string,
    call: () => Promise<T>,
  ): Promise<T | undefined> => {
    try {
      const res = await call();
      count(method, 'OK');
      return res;
    } catch (err) {
      count(method, err instanceof ConnectError ? err.code : Code.Unknown);
      // While a service is down, refusals come back at once: do not spin on them.
      await sleep(100);
      return undefined;
    }
  };
  const loop = async (worker: number) => {
    while (running) {
      const sku = opts.skus[Math.floor(Math.random() * opts.skus.length)];
      const declined = Math.random() < (opts.declineShare ?? 0.1);
      const created = await attempt('CreateOrder', () =>
        client.createOrder(
          {
            requestId: randomUUID(),
            customerId: `chaos-${worker}`,
            currencyCode: 'USD',
            lines: [{sku, quantity: 1 + Math.floor(Math.random() * 2)}],
            paymentToken: declined ? 'tok_decline' : 'tok_visa',
          },
          timed,
        ),
      );
      const order = created?.order;
      if (!running || order?.state !== OrderState.PAID) continue;
      if (Math.random() < (opts.refundShare ?? 0.1)) {
        await attempt('RefundOrder', () =>
          client.refundOrder(
            {
              orderId: order.orderId,
              requestId: randomUUID(),
              amount: {currencyCode: 'USD', amount: '1.00'},
              reason: 'chaos: partial refund',
            },
            timed,
          ),
        );
      }
      if (Math.random() < (opts.cancelShare ?? 0.05)) {
        await attempt('CancelOrder', () =>
          client.cancelOrder(
            {orderId: order.orderId, reason: 'chaos: cancel'},
            timed,
          ),
        );
      }
    }
  };
  const loops = Array.from({length: opts.concurrency}, (_, i) => loop(i));
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      client.close();
      return counts;
    },
  };
}
