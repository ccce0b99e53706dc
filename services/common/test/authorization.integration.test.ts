/**
 * The authorization table, walked against the real mesh: every RPC of every service ×
 * every kind of caller × both ports (grpc-js and Connect over HTTP/1.1), and the row
 * count of every table unchanged after every refused call. The expectations are written
 * out here, from the rules, not derived from the table under test.
 */
import {randomUUID} from 'node:crypto';
import type {DescMethod, DescService} from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  createClient,
  type Client,
  type Transport,
} from '@connectrpc/connect';
import {createConnectTransport} from '@connectrpc/connect-node';
import {SignJWT, generateKeyPair} from 'jose';
import {InventoryService} from '../../../gen/agora/inventory/v1/inventory_service_pb.js';
import {StockAdjustmentReason} from '../../../gen/agora/inventory/v1/inventory_pb.js';
import {OrderState} from '../../../gen/agora/order/v1/order_pb.js';
import {OrderService} from '../../../gen/agora/order/v1/order_service_pb.js';
import {PaymentService} from '../../../gen/agora/payment/v1/payment_service_pb.js';
import {PricingService} from '../../../gen/agora/pricing/v1/pricing_service_pb.js';
import {ReportService} from '../../../gen/agora/report/v1/report_service_pb.js';
import type {ServiceName} from '../config/service_config.js';
import {createGrpcClient} from '../rpc/grpc_client.js';
import {startTestSystem} from '../testing/test_system.js';

const sys = await startTestSystem('authorization');
afterAll(() => sys.stop());

const SERVICES: Array<[ServiceName, DescService]> = [
  ['order', OrderService],
  ['payment', PaymentService],
  ['inventory', InventoryService],
  ['pricing', PricingService],
  ['report', ReportService],
];

type Caller =
  | 'no token'
  | 'expired'
  | 'wrong issuer'
  | 'bad signature'
  | 'customer A'
  | 'customer B'
  | 'admin'
  | 'order service'
  | 'report service';

async function forged(): Promise<string> {
  const {privateKey} = await generateKeyPair('ES256');
  const token = await new SignJWT({roles: ['admin']})
    .setProtectedHeader({alg: 'ES256', kid: 'agora-dev-issuer-1'})
    .setIssuer('agora-dev')
    .setAudience('agora')
    .setSubject('mallory')
    .setExpirationTime('1h')
    .sign(privateKey);
  return `Bearer ${token}`;
}

const {issuer} = sys;
const HEADERS: Record<Caller, string | undefined> = {
  'no token': undefined,
  expired: await issuer.bearer({
    subject: 'alice',
    roles: ['customer'],
    ttlS: -600,
  }),
  'wrong issuer': await issuer.bearer({
    subject: 'ops',
    roles: ['admin'],
    issuer: 'https://login.example.com',
  }),
  'bad signature': await forged(),
  'customer A': await issuer.bearer({subject: 'alice', roles: ['customer']}),
  'customer B': await issuer.bearer({subject: 'bob', roles: ['customer']}),
  admin: sys.admin,
  'order service': `Bearer ${await issuer.mintForService('order', {
    subject: 'service:order',
    roles: ['service:order'],
  })}`,
  'report service': `Bearer ${await issuer.mintForService('report', {
    subject: 'service:report',
    roles: ['service:report'],
  })}`,
};
const CALLERS = Object.keys(HEADERS) as Caller[];

// Who may call what, as the issue states it.
const CATALOGUE = [
  'InventoryService/GetStock',
  'InventoryService/BatchGetStock',
  'InventoryService/WatchStock',
  'PricingService/GetPrices',
  'PricingService/CreateQuote',
  'PricingService/WatchPrices',
  'PricingService/ListPriceHistory',
];
const SAGA_SERVICES = ['PaymentService'];
const SAGA = [
  'InventoryService/ReserveStock',
  'InventoryService/CommitReservation',
  'InventoryService/ReleaseReservation',
  'InventoryService/GetReservation',
  // Order restocks a cancelled order's units.
  'InventoryService/AdjustStock',
  // Order's reconciler reads reservations and checks the Redis mirror.
  'InventoryService/ScanReservations',
  'InventoryService/CheckStockMirror',
];
// Operators only, even inside services every customer otherwise reaches.
const ADMIN_ONLY = ['OrderService/Reconcile'];

function expected(path: string, caller: Caller): 'allowed' | Code {
  if (['no token', 'expired', 'wrong issuer', 'bad signature'].includes(caller))
    return Code.Unauthenticated;
  if (caller === 'admin') return 'allowed';
  if (ADMIN_ONLY.includes(path)) return Code.PermissionDenied;
  const [service] = path.split('/');
  const isOrders = service === 'OrderService';
  const isSaga = SAGA.includes(path) || SAGA_SERVICES.includes(service);
  const isCatalogue = CATALOGUE.includes(path);
  switch (caller) {
    case 'customer A':
    case 'customer B':
      return isOrders || isCatalogue ? 'allowed' : Code.PermissionDenied;
    case 'order service':
      return isSaga || isCatalogue ? 'allowed' : Code.PermissionDenied;
    default:
      return isCatalogue ? 'allowed' : Code.PermissionDenied;
  }
}

/** The row count of every table of every service schema, in one statement. */
async function rowCounts(): Promise<Record<string, number>> {
  const {rows} = await sys.db.query<{t: string}>(
    `select format('%I.%I', schemaname, tablename) as t from pg_tables
      where schemaname in ('ordering', 'payment', 'inventory', 'pricing', 'report')
      order by 1`,
  );
  const sql = rows
    .map(r => `select '${r.t}' as t, count(*)::int as n from ${r.t}`)
    .join(' union all ');
  const counts = await sys.db.query<{t: string; n: number}>(sql);
  return Object.fromEntries(counts.rows.map(r => [r.t, r.n]));
}

/**
 * The tables a call wrote to between two counts. Outbox rows are deleted by the relay
 * as it publishes, so an outbox only counts when it grew.
 */
function written(
  before: Record<string, number>,
  after: Record<string, number>,
): string[] {
  return Object.keys(after).filter(t =>
    t.endsWith('.outbox') ? after[t] > before[t] : after[t] !== before[t],
  );
}

/** Calls `method` with an empty request; the code it ends with ('ok' included). */
async function codeOf(
  client: Client<DescService>,
  method: DescMethod,
  header: string | undefined,
): Promise<Code | 'ok'> {
  const headers = header ? {authorization: header} : undefined;
  const call = (client as Record<string, unknown>)[method.localName] as (
    req: object,
    opts: object,
  ) => unknown;
  try {
    if (method.methodKind === 'server_streaming') {
      // An admitted stream stays open; a refused one ends at once with its code.
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 400);
      try {
        const stream = call({}, {headers, signal: abort.signal});
        await (stream as AsyncIterable<unknown>)[Symbol.asyncIterator]().next();
      } catch (err) {
        if (abort.signal.aborted) return 'ok';
        throw err;
      } finally {
        clearTimeout(timer);
      }
      return 'ok';
    }
    await call({}, {headers});
    return 'ok';
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

function grpcPort(name: ServiceName, service: DescService) {
  return createGrpcClient(service, sys.mesh.processes[name].grpcAddress, {
    retries: 0,
  }) as unknown as Client<DescService>;
}

function connectPort(name: ServiceName, service: DescService) {
  const transport: Transport = createConnectTransport({
    baseUrl: `http://${sys.mesh.processes[name].httpAddress}`,
    httpVersion: '1.1',
  });
  return createClient(service, transport) as Client<DescService>;
}

describe('the authorization table', () => {
  for (const [port, clientOf] of [
    ['gRPC port', grpcPort],
    ['Connect port', connectPort],
  ] as const) {
    it(`holds for every RPC × every caller on the ${port}, and refused calls write nothing`, async () => {
      const mismatches: string[] = [];
      let refused = 0;
      let baseline = await rowCounts();
      for (const [name, service] of SERVICES) {
        const client = clientOf(name, service);
        for (const method of service.methods) {
          const path = `${service.name}/${method.name}`;
          for (const caller of CALLERS) {
            const want = expected(path, caller);
            const got = await codeOf(client, method, HEADERS[caller]);
            const admitted =
              got !== Code.Unauthenticated && got !== Code.PermissionDenied;
            if (want === 'allowed' ? !admitted : got !== want) {
              mismatches.push(
                `${path} as ${caller}: got ${got === 'ok' ? 'OK' : Code[got]}, want ${want === 'allowed' ? 'admitted' : Code[want]}`,
              );
            }
            if (!admitted) {
              refused++;
              const tables = written(baseline, await rowCounts());
              if (tables.length > 0) {
                mismatches.push(
                  `${path} as ${caller}: refused, but wrote ${tables.join(', ')}`,
                );
              }
            } else {
              baseline = await rowCounts();
            }
          }
        }
        (client as {close?: () => void}).close?.();
      }
      expect(mismatches).toEqual([]);
      // 41 RPCs × 4 unauthenticated callers at least, plus the role refusals.
      expect(refused).toBeGreaterThan(41 * 4);
    }, 120_000);
  }
});

describe('customers and orders', () => {
  const asA = {headers: {authorization: HEADERS['customer A']!}};
  const asB = {headers: {authorization: HEADERS['customer B']!}};
  const customers = createGrpcClient(
    OrderService,
    sys.mesh.processes.order.grpcAddress,
    {retries: 0},
  );
  afterAll(() => customers.close());

  async function placeAs(customerId: string, opts: typeof asA) {
    const {order} = await customers.createOrder(
      {
        requestId: randomUUID(),
        customerId,
        currencyCode: 'USD',
        lines: [{sku: 'AUTH-1', quantity: 1}],
        paymentToken: 'tok_visa',
      },
      opts,
    );
    expect(order?.state).toBe(OrderState.PAID);
    return order!.orderId;
  }

  beforeAll(async () => {
    await sys.inventory.adjustStock({
      requestId: randomUUID(),
      sku: 'AUTH-1',
      delta: 100,
      reason: StockAdjustmentReason.RESTOCK,
    });
    await sys.pricing.setBasePrice({
      sku: 'AUTH-1',
      price: {currencyCode: 'USD', amount: '3.00'},
    });
  });

  it('refuses an order placed in another customer’s name, writing nothing', async () => {
    const before = await rowCounts();
    const code = await customers
      .createOrder(
        {
          requestId: randomUUID(),
          customerId: 'bob',
          currencyCode: 'USD',
          lines: [{sku: 'AUTH-1', quantity: 1}],
          paymentToken: 'tok_visa',
        },
        asA,
      )
      .then(
        () => 'ok',
        (err: unknown) => ConnectError.from(err).code,
      );
    expect(code).toBe(Code.PermissionDenied);
    expect(written(before, await rowCounts())).toEqual([]);
  });

  it('lets customer A neither read, list, cancel, refund nor watch customer B’s orders', async () => {
    const bobs = await placeAs('bob', asB);
    const fail = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (err: unknown) => Code[ConnectError.from(err).code],
      );
    expect(await fail(customers.getOrder({orderId: bobs}, asA))).toBe(
      'NotFound',
    );
    expect(await fail(customers.listOrders({customerId: 'bob'}, asA))).toBe(
      'PermissionDenied',
    );
    expect(
      await fail(customers.cancelOrder({orderId: bobs, reason: 'x'}, asA)),
    ).toBe('NotFound');
    expect(
      await fail(
        customers.refundOrder(
          {orderId: bobs, requestId: randomUUID(), reason: 'x'},
          asA,
        ),
      ),
    ).toBe('NotFound');
    const watchB = async () => {
      for await (const _ of customers.watchOrderEvents(
        {customerId: 'bob'},
        asA,
      ))
        return 'ok';
      return 'ended';
    };
    expect(await fail(watchB())).toBe('PermissionDenied');
    // Bob still sees and owns his order; nothing was cancelled or refunded.
    const {order} = await customers.getOrder({orderId: bobs}, asB);
    expect(order?.state).toBe(OrderState.PAID);
    expect(order?.refundedAmount?.amount ?? '0').toMatch(/^0(\.00)?$/);
    const alices = await customers.listOrders({customerId: 'alice'}, asA);
    expect(alices.orders.map(o => o.customerId)).not.toContain('bob');
  });

  it('streams to a watching customer only its own orders’ events', async () => {
    const abort = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      try {
        for await (const res of customers.watchOrderEvents(
          {},
          {...asA, signal: abort.signal},
        )) {
          seen.push(res.event?.order?.customerId ?? '?');
        }
      } catch {
        // aborted below
      }
    })();
    await new Promise(r => setTimeout(r, 300));
    await placeAs('bob', asB);
    const mine = await placeAs('alice', asA);
    const deadline = Date.now() + 10_000;
    while (!seen.includes('alice') && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 100));
    }
    abort.abort();
    await watching;
    expect(mine).toBeTruthy();
    expect(seen).toContain('alice');
    expect(seen.filter(c => c !== 'alice')).toEqual([]);
  });
});
