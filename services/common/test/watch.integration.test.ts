/**
 * Watch streams on both ports, against the real mesh: each stream carries what its
 * caller is entitled to, encoded once on the server; one caller's streams are bounded
 * while checkout keeps working.
 */
import {randomUUID} from 'node:crypto';
import {Code, ConnectError, createClient} from '@connectrpc/connect';
import {createConnectTransport} from '@connectrpc/connect-node';
import {StockAdjustmentReason} from '../../../gen/agora/inventory/v1/inventory_pb.js';
import {InventoryService} from '../../../gen/agora/inventory/v1/inventory_service_pb.js';
import {OrderState} from '../../../gen/agora/order/v1/order_pb.js';
import {PricingService} from '../../../gen/agora/pricing/v1/pricing_service_pb.js';
import {createGrpcClient} from '../rpc/grpc_client.js';
import {startTestSystem} from '../testing/test_system.js';

// Opening streams is rate-limited too (5/s); raised here so the test sees the stream cap.
const sys = await startTestSystem('watch', {AGORA_RATE_LIMIT_WATCH: '1000'});
afterAll(() => sys.stop(), 30_000);

const customer = await sys.issuer.bearer({
  subject: 'dora',
  roles: ['customer'],
});
const asCustomer = {authorization: customer};

function connectClient<
  S extends typeof InventoryService | typeof PricingService,
>(service: S, name: 'inventory' | 'pricing') {
  return createClient(
    service,
    createConnectTransport({
      baseUrl: `http://${sys.mesh.processes[name].httpAddress}`,
      httpVersion: '1.1',
      interceptors: [
        next => req => {
          req.header.set('authorization', customer);
          return next(req);
        },
      ],
    }),
  );
}

/** The first `n` messages of a stream, or fails after 10 s. */
async function take<T>(
  stream: (signal: AbortSignal) => AsyncIterable<T>,
  n: number,
  whileOpen: () => Promise<void>,
): Promise<T[]> {
  const abort = new AbortController();
  const got: T[] = [];
  const reading = (async () => {
    for await (const m of stream(abort.signal)) {
      got.push(m);
      if (got.length >= n) break;
    }
  })();
  await new Promise(r => setTimeout(r, 300));
  await whileOpen();
  const timer = setTimeout(() => abort.abort(), 10_000);
  await reading.catch(() => undefined);
  clearTimeout(timer);
  abort.abort(); // the stream is closed, not left to the client library
  return got;
}

beforeAll(async () => {
  for (const sku of ['W-1', 'W-2']) {
    await sys.inventory.adjustStock({
      requestId: randomUUID(),
      sku,
      delta: 50,
      reason: StockAdjustmentReason.RESTOCK,
    });
    await sys.pricing.setBasePrice({
      sku,
      price: {currencyCode: 'USD', amount: '4.00'},
    });
  }
});

describe('WatchStock', () => {
  it.each(['gRPC', 'Connect'])(
    'streams the snapshot, then each change of the watched SKU only (%s port)',
    async port => {
      const client =
        port === 'gRPC'
          ? sys.inventory
          : connectClient(InventoryService, 'inventory');
      const got = await take(
        signal =>
          client.watchStock(
            {skus: ['W-1']},
            {signal, headers: port === 'gRPC' ? asCustomer : undefined},
          ),
        2,
        async () => {
          await sys.inventory.adjustStock({
            requestId: randomUUID(),
            sku: 'W-2',
            delta: 1,
            reason: StockAdjustmentReason.RESTOCK,
          });
          await sys.inventory.adjustStock({
            requestId: randomUUID(),
            sku: 'W-1',
            delta: -3,
            reason: StockAdjustmentReason.DAMAGE,
          });
        },
      );
      expect(got.map(m => m.level?.sku)).toEqual(['W-1', 'W-1']);
      expect(got[1].level!.onHand).toBe(got[0].level!.onHand - 3);
    },
  );
});

describe('WatchPrices', () => {
  it.each(['gRPC', 'Connect'])(
    'streams each price change of the watched SKU (%s port)',
    async port => {
      const client =
        port === 'gRPC'
          ? sys.pricing
          : connectClient(PricingService, 'pricing');
      const amount = port === 'gRPC' ? '4.10' : '4.20';
      const got = await take(
        signal =>
          client.watchPrices(
            {skus: ['W-2']},
            {signal, headers: port === 'gRPC' ? asCustomer : undefined},
          ),
        1,
        async () => {
          await sys.pricing.setBasePrice({
            sku: 'W-2',
            price: {currencyCode: 'USD', amount},
          });
        },
      );
      expect(got).toHaveLength(1);
      expect(got[0].change?.sku).toBe('W-2');
      expect(
        JSON.stringify(got[0].change, (_, v) =>
          typeof v === 'bigint' ? String(v) : v,
        ),
      ).toContain(amount);
    },
  );
});

describe('WatchLowStockAlerts', () => {
  it('streams an alert to an admin when stock falls to its threshold', async () => {
    await sys.inventory.setLowStockThreshold({sku: 'W-1', threshold: 40});
    const got = await take(
      signal => sys.inventory.watchLowStockAlerts({}, {signal}),
      1,
      async () => {
        await sys.inventory.adjustStock({
          requestId: randomUUID(),
          sku: 'W-1',
          delta: -10,
          reason: StockAdjustmentReason.DAMAGE,
        });
      },
    );
    expect(got[0]?.alert?.sku).toBe('W-1');
  });
});

describe('one caller’s streams', () => {
  it('are refused past the limit (RESOURCE_EXHAUSTED) while checkout keeps working, and freed when closed', async () => {
    const client = createGrpcClient(
      InventoryService,
      sys.mesh.processes.inventory.grpcAddress,
      {retries: 0, authorization: () => customer},
    );
    const abort = new AbortController();
    const refusals = new Set<string>();
    const outcomes = await Promise.all(
      Array.from({length: 1000}, async () => {
        try {
          const it = client
            .watchStock({skus: ['W-2']}, {signal: abort.signal})
            [Symbol.asyncIterator]();
          await it.next(); // the snapshot: the stream is open
          return 'open';
        } catch (err) {
          refusals.add(ConnectError.from(err).rawMessage);
          return Code[ConnectError.from(err).code];
        }
      }),
    );
    expect([...refusals]).toEqual([
      'at most 16 open watch streams per caller; close one first',
    ]);
    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
    expect(counts).toEqual({open: 16, ResourceExhausted: 984});
    // Checkout is unaffected while the caller holds its 16 streams.
    const {order} = await sys.order.createOrder({
      requestId: randomUUID(),
      customerId: 'dora',
      currencyCode: 'USD',
      lines: [{sku: 'W-2', quantity: 1}],
      paymentToken: 'tok_visa',
    });
    expect(order?.state).toBe(OrderState.PAID);
    abort.abort();
    await new Promise(r => setTimeout(r, 300));
    const again = client
      .watchStock({skus: ['W-2']}, {signal: AbortSignal.timeout(5000)})
      [Symbol.asyncIterator]();
    expect((await again.next()).value?.level?.sku).toBe('W-2');
    await again.return?.();
    client.close();
  }, 60_000);
});
