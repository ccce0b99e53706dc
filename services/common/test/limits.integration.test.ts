/**
 * Limits that hold under abuse, against the real mesh: oversized and compressed bodies on
 * both ports, bytes that are not protobuf, NUL characters, a thousand bad lines, a 1 MB
 * health-check name, a caller over its rate, and domain error details as standard
 * google.rpc details. After the abuse every service is still SERVING and small.
 */
import {randomUUID} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {request as httpRequest} from 'node:http';
import {connect} from 'node:net';
import {gzipSync} from 'node:zlib';
import {Code, ConnectError} from '@connectrpc/connect';
import * as grpc from '@grpc/grpc-js';
import {StockAdjustmentReason} from '../../../gen/agora/inventory/v1/inventory_pb.js';
import {
  ErrorInfoSchema,
  RetryInfoSchema,
} from '../../../gen/google/rpc/error_details_pb.js';
import type {ServiceName} from '../config/service_config.js';
import {checkHealth} from '../process/service_process.js';
import {startTestSystem} from '../testing/test_system.js';

// Reads: 5 per second per customer, a burst of 10, so one test can go over it quickly.
const sys = await startTestSystem('limits', {AGORA_RATE_LIMIT_READ: '5'});
afterAll(() => sys.stop());

const NAMES: ServiceName[] = [
  'order',
  'payment',
  'inventory',
  'pricing',
  'report',
];
const MIB = 1024 * 1024;
const customer = await sys.issuer.bearer({
  subject: 'carol',
  roles: ['customer'],
});

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** Every service answers SERVING and holds under 200 MB. */
async function everyServiceHealthy(): Promise<void> {
  for (const name of NAMES) {
    const p = sys.mesh.processes[name];
    expect(await checkHealth(p.grpcAddress)).toBe(true);
    expect(rssMiB(p.child.pid!)).toBeLessThan(200);
  }
}

/** POSTs raw bytes to a service's HTTP edge; resolves with the status and body. */
function post(
  name: ServiceName,
  path: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{status: number; body: string}> {
  const [host, port] = sys.mesh.processes[name].httpAddress.split(':');
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {host, port: Number(port), path, method: 'POST', headers},
      res => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    // The server may answer and close before it read everything we send.
    req.on('error', err =>
      (err as NodeJS.ErrnoException).code === 'EPIPE' ||
      (err as NodeJS.ErrnoException).code === 'ECONNRESET'
        ? resolve({status: -1, body: String(err)})
        : reject(err),
    );
    req.end(body);
  });
}

/** Sends raw request bytes to a gRPC method, optionally gzip-compressed on the wire. */
function grpcRaw(
  name: ServiceName,
  path: string,
  bytes: Buffer,
  gzip = false,
): Promise<grpc.ServiceError | undefined> {
  const client = new grpc.Client(
    sys.mesh.processes[name].grpcAddress,
    grpc.credentials.createInsecure(),
    gzip ? {'grpc.default_compression_algorithm': 2} : {},
  );
  const metadata = new grpc.Metadata();
  metadata.set('authorization', sys.admin);
  return new Promise(resolve => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      metadata,
      {deadline: Date.now() + 30_000},
      err => {
        client.close();
        resolve(err ?? undefined);
      },
    );
  });
}

const GET_STOCK = '/agora.inventory.v1.InventoryService/GetStock';
/** One unary read per service whose request's field 1 is a string. */
const READ_OF: Record<ServiceName, string> = {
  order: '/agora.order.v1.OrderService/GetOrder',
  payment: '/agora.payment.v1.PaymentService/GetPayment',
  inventory: GET_STOCK,
  pricing: '/agora.pricing.v1.PricingService/GetPrices',
  report: '/agora.report.v1.ReportService/GetReportJob',
};

describe('request size', () => {
  it('refuses a 64 MiB body on the HTTP edge of every service, before reading it', async () => {
    const body = Buffer.alloc(64 * MIB, 0x20);
    for (const name of NAMES) {
      const res = await post(name, READ_OF[name], body, {
        'content-type': 'application/json',
        authorization: sys.admin,
      });
      expect([413, -1]).toContain(res.status);
      // Without a length (chunked), the body is bounded while it is read.
      const chunked = await post(name, READ_OF[name], body, {
        'content-type': 'application/json',
        'transfer-encoding': 'chunked',
        authorization: sys.admin,
      });
      expect([429, -1]).toContain(chunked.status);
    }
    await everyServiceHealthy();
  }, 60_000);

  it('refuses a gzip bomb on the HTTP edge (64 MiB of JSON inflated from 64 KiB)', async () => {
    const bomb = gzipSync(
      Buffer.concat([
        Buffer.from('{"sku":"'),
        Buffer.alloc(64 * MIB, 0x41),
        Buffer.from('"}'),
      ]),
    );
    expect(bomb.length).toBeLessThan(MIB);
    for (const name of NAMES) {
      const res = await post(name, READ_OF[name], bomb, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        authorization: sys.admin,
      });
      expect({name, status: res.status, body: res.body}).toMatchObject({
        status: 429,
        body: expect.stringMatching(/resource_exhausted/),
      });
    }
    await everyServiceHealthy();
  }, 60_000);

  it('refuses a 64 MiB message and a gzip bomb on the gRPC port of every service', async () => {
    // Field 1 (sku), length-delimited, 64 MiB long: a valid protobuf encoding.
    const big = Buffer.concat([
      Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x20]),
      Buffer.alloc(64 * MIB, 0x41),
    ]);
    for (const name of NAMES) {
      for (const gzip of [false, true]) {
        const err = await grpcRaw(name, READ_OF[name], big, gzip);
        expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      }
    }
    await everyServiceHealthy();
  }, 60_000);
});

describe('bad bytes and bad text', () => {
  it('answers INVALID_ARGUMENT, not INTERNAL, for bytes that are not protobuf, on both ports', async () => {
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    const err = await grpcRaw('inventory', GET_STOCK, garbage);
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(
      /not a valid agora\.inventory\.v1\.GetStockRequest/,
    );
    const res = await post('inventory', GET_STOCK, garbage, {
      'content-type': 'application/proto',
      authorization: sys.admin,
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/invalid_argument/);
  });

  it('answers INVALID_ARGUMENT for a NUL character in free text, and writes nothing', async () => {
    const {rows: before} = await sys.db.query(
      'select count(*)::int as n from ordering.customer_order',
    );
    for (const field of ['customerId', 'paymentToken'] as const) {
      const code = await sys.order
        .createOrder({
          requestId: randomUUID(),
          customerId: 'alice',
          currencyCode: 'USD',
          lines: [{sku: 'LIM-1', quantity: 1}],
          paymentToken: 'tok_visa',
          [field]: 'ali\u0000ce',
        })
        .then(
          () => 'ok',
          (e: unknown) => Code[ConnectError.from(e).code],
        );
      expect(code).toBe('InvalidArgument');
    }
    const err = await sys.pricing
      .createPriceRule({
        name: 'nul\u0000rule',
        sku: 'LIM-1',
        condition: {case: 'stockAtOrBelow', value: {threshold: 1}},
        adjustmentPercent: '5',
      })
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toMatch(
      /name: must not contain a NUL/,
    );
    const {rows: after} = await sys.db.query(
      'select count(*)::int as n from ordering.customer_order',
    );
    expect(after[0].n).toBe(before[0].n);
  });

  it('keeps the message of a request with a thousand bad lines short and readable', async () => {
    const err = await sys.order
      .createOrder({
        requestId: randomUUID(),
        customerId: 'alice',
        currencyCode: 'USD',
        lines: Array.from({length: 1000}, () => ({sku: '!', quantity: 0})),
        paymentToken: 'tok_visa',
      })
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage.length).toBeLessThan(1500);
    expect((err as ConnectError).rawMessage).toMatch(/… and \d+ more/);
  });

  it('never echoes a 1 MB health-check service name', async () => {
    const client = new grpc.Client(
      sys.mesh.processes.order.grpcAddress,
      grpc.credentials.createInsecure(),
    );
    // grpc.health.v1.HealthCheckRequest: field 1 (service), 1 MB long.
    const name = Buffer.alloc(MIB - 16, 0x61);
    const req = Buffer.concat([Buffer.from([0x0a, 0xf0, 0xff, 0x3f]), name]);
    const err = await new Promise<grpc.ServiceError | null>(resolve =>
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (b: Buffer) => b,
        (b: Buffer) => b,
        req,
        new grpc.Metadata(),
        {},
        e => resolve(e),
      ),
    );
    client.close();
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err!.details.length).toBeLessThan(200);
  });
});

describe('rate limits and error details', () => {
  it('answers a customer over its rate RESOURCE_EXHAUSTED with google.rpc.RetryInfo', async () => {
    const headers = {authorization: customer};
    const results = await Promise.all(
      Array.from({length: 30}, () =>
        sys.inventory.getStock({sku: 'LIM-1'}, {headers}).then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        ),
      ),
    );
    const limited = results.filter(
      e => e?.code === Code.ResourceExhausted,
    ) as ConnectError[];
    // A burst of 10 passes (as NOT_FOUND: the SKU is not stocked), the rest are limited.
    expect(limited.length).toBeGreaterThanOrEqual(15);
    const retry = limited[0].findDetails(RetryInfoSchema)[0];
    const delayMs =
      Number(retry.retryDelay?.seconds ?? 0n) * 1000 +
      (retry.retryDelay?.nanos ?? 0) / 1e6;
    expect(delayMs).toBeGreaterThan(0);
    expect(delayMs).toBeLessThanOrEqual(1000);
    // An admin is not limited, so operations go on meanwhile.
    await expect(
      sys.pricing.getPrices({skus: ['LIM-1'], currencyCode: 'USD'}),
    ).rejects.toMatchObject({code: Code.NotFound});
  });

  it('sends out-of-stock facts as google.rpc.ErrorInfo (sku, requested, available)', async () => {
    await sys.inventory.adjustStock({
      requestId: randomUUID(),
      sku: 'LIM-2',
      delta: 2,
      reason: StockAdjustmentReason.RESTOCK,
    });
    await sys.pricing.setBasePrice({
      sku: 'LIM-2',
      price: {currencyCode: 'USD', amount: '1.00'},
    });
    const err = await sys.order
      .createOrder({
        requestId: randomUUID(),
        customerId: 'alice',
        currencyCode: 'USD',
        lines: [{sku: 'LIM-2', quantity: 5}],
        paymentToken: 'tok_visa',
      })
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
    const info = (err as ConnectError).findDetails(ErrorInfoSchema)[0];
    expect(info).toMatchObject({
      reason: 'OUT_OF_STOCK',
      domain: 'agora',
      metadata: {sku: 'LIM-2', requested: '5', available: '2'},
    });
  });
});

describe('bounded requests', () => {
  it('lets only the Order service hold stock for longer than 15 minutes', async () => {
    await sys.inventory.adjustStock({
      requestId: randomUUID(),
      sku: 'LIM-3',
      delta: 5,
      reason: StockAdjustmentReason.RESTOCK,
    });
    const twoHours = {seconds: 7200n, nanos: 0};
    const req = () => ({
      reservationId: randomUUID(),
      orderId: randomUUID(),
      lines: [{sku: 'LIM-3', quantity: 1}],
      ttl: twoHours,
    });
    const asAdmin = await sys.inventory
      .reserveStock(req())
      .catch((e: unknown) => ConnectError.from(e));
    expect(asAdmin).toMatchObject({code: Code.InvalidArgument});
    expect((asAdmin as ConnectError).rawMessage).toMatch(
      /ttl: must be at most 15 minutes/,
    );
    const order = `Bearer ${await sys.issuer.mintForService('order', {
      subject: 'service:order',
      roles: ['service:order'],
    })}`;
    const {reservation} = await sys.inventory.reserveStock(req(), {
      headers: {authorization: order},
    });
    expect(reservation?.reservationId).toBeTruthy();
  });

  it('bounds price rules: 20 per SKU, conditions within range', async () => {
    const rule = (threshold: number) => ({
      name: `rule ${threshold}`,
      sku: 'LIM-4',
      condition: {case: 'stockAtOrBelow' as const, value: {threshold}},
      adjustmentPercent: '1',
    });
    for (let i = 0; i < 20; i++) await sys.pricing.createPriceRule(rule(i));
    const over = await sys.pricing
      .createPriceRule(rule(20))
      .catch((e: unknown) => ConnectError.from(e));
    expect(over).toMatchObject({code: Code.ResourceExhausted});
    expect((over as ConnectError).findDetails(ErrorInfoSchema)[0]?.reason).toBe(
      'PRICE_RULE_LIMIT',
    );
    const huge = await sys.pricing
      .createPriceRule({...rule(2_000_000), sku: 'LIM-5'})
      .catch((e: unknown) => ConnectError.from(e));
    expect(huge).toMatchObject({code: Code.InvalidArgument});
    const {rules} = await sys.pricing.listPriceRules({});
    expect(rules.filter(r => r.sku === 'LIM-4')).toHaveLength(20);
    expect(rules.filter(r => r.sku === 'LIM-5')).toHaveLength(0);
  });
});

describe('the HTTP edge', () => {
  function raw(name: ServiceName, request: string): Promise<string> {
    const [host, port] = sys.mesh.processes[name].httpAddress.split(':');
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), host, () => socket.end(request));
      let text = '';
      socket.on('data', d => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
  }

  it('refuses an unknown Host (DNS rebinding), but answers a load balancer’s /healthz without one', async () => {
    const rebound = await raw(
      'pricing',
      'POST /agora.pricing.v1.PricingService/GetPrices HTTP/1.1\r\nHost: evil.example\r\n' +
        'content-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}',
    );
    expect(rebound).toMatch(/^HTTP\/1\.1 421/);
    const check = await raw('pricing', 'GET /healthz HTTP/1.0\r\n\r\n');
    expect(check).toMatch(/^HTTP\/1\.1 200[\s\S]*SERVING/);
  });

  it('answers CORS only for allowed origins', async () => {
    const res = await post('pricing', READ_OF.pricing, Buffer.from('{}'), {
      'content-type': 'application/json',
      origin: 'https://evil.example',
      authorization: sys.admin,
    });
    expect(res.status).toBe(403);
  });
});
