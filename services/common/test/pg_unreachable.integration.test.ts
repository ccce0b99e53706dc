/**
 * A real Inventory process whose PostgreSQL becomes unreachable: it reaches the
 * database through a TCP proxy this test owns, and closing the proxy (every socket
 * destroyed, the port refusing) is what a lost network or a stopped server looks like
 * to the service, without touching the PostgreSQL server other tests share.
 * Also: a statement that outlives AGORA_DB_STATEMENT_TIMEOUT_MS.
 */
import {randomUUID} from 'node:crypto';
import {createConnection, createServer, type Socket} from 'node:net';
import {join} from 'node:path';
import {Code, ConnectError} from '@connectrpc/connect';
import pg from 'pg';
import {StockAdjustmentReason} from '../../../gen/agora/inventory/v1/inventory_pb.js';
import {InventoryService} from '../../../gen/agora/inventory/v1/inventory_service_pb.js';
import {
  checkHealth,
  localDevIssuer,
  repoRoot,
  startServiceProcess,
} from '../process/service_process.js';
import {createGrpcClient} from '../rpc/grpc_client.js';
import {freshEnvironment} from '../testing/isolation.js';

/** A TCP proxy to PostgreSQL that the test can cut and restore on the same port. */
class PgProxy {
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer(client => {
    const upstream = createConnection(5432, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => this.sockets.delete(s));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  port = 0;

  async open(): Promise<void> {
    await new Promise<void>(resolve =>
      this.server.listen(this.port, '127.0.0.1', () => resolve()),
    );
    this.port = (this.server.address() as {port: number}).port;
  }

  async cut(): Promise<void> {
    const closed = new Promise<void>(resolve =>
      this.server.close(() => resolve()),
    );
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

const proxy = new PgProxy();
await proxy.open();
const isolated = await freshEnvironment(
  'agora_test_pg_unreachable',
  'agoratest-pg_unreachable',
);
const viaProxy = new URL(isolated.databaseUrl);
viaProxy.port = String(proxy.port);
const issuer = await localDevIssuer();
const inventory = await startServiceProcess(
  'inventory',
  {
    ...isolated.env,
    ...issuer.env,
    AGORA_DATABASE_URL: viaProxy.toString(),
    AGORA_LOG_LEVEL: 'info',
    AGORA_DRAIN_MS: '100',
    AGORA_TRACING: 'off',
    AGORA_INVENTORY_PORT: '0',
    AGORA_INVENTORY_HTTP_PORT: '0',
    AGORA_READINESS_EVERY_MS: '200',
    AGORA_READINESS_TIMEOUT_MS: '500',
    AGORA_DB_ACQUIRE_TIMEOUT_MS: '1000',
    AGORA_DB_STATEMENT_TIMEOUT_MS: '500',
  },
  join(repoRoot(), '.agora', 'test-logs', 'pg_unreachable', 'inventory.log'),
);
const admin = await issuer.bearer({subject: 'test-admin', roles: ['admin']});
// No client-side retries: the test sees each answer as the service gave it.
const client = createGrpcClient(InventoryService, inventory.grpcAddress, {
  authorization: () => admin,
  retries: 0,
});
afterAll(async () => {
  client.close();
  await inventory.stop();
  await proxy.cut();
}, 30_000);

const ADDRESS = /\d+\.\d+\.\d+\.\d+|localhost|:\d{2,5}\b/;
const SKU = 'UNREACH-1';

async function healthz(): Promise<number> {
  const res = await fetch(`http://${inventory.httpAddress}/healthz`);
  await res.arrayBuffer();
  return res.status;
}

async function until(
  what: string,
  cond: () => Promise<boolean>,
  ms = 15_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise(r => setTimeout(r, 100));
  }
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  throw new Error('the call succeeded');
}

beforeAll(async () => {
  await client.adjustStock({
    requestId: randomUUID(),
    sku: SKU,
    delta: 10,
    reason: StockAdjustmentReason.RESTOCK,
  });
});

describe('readiness (issue 8: "a replica that lost PostgreSQL still reports SERVING")', () => {
  it('answers NOT_SERVING and /healthz 503 while PostgreSQL is unreachable, UNAVAILABLE to calls, and SERVING again when it is back', async () => {
    expect(await checkHealth(inventory.grpcAddress)).toBe(true);
    expect(await healthz()).toBe(200);

    await proxy.cut();
    await until(
      'NOT_SERVING',
      async () => !(await checkHealth(inventory.grpcAddress)),
    );
    expect(await healthz()).toBe(503);
    const err = await failure(client.getStock({sku: SKU}));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).not.toMatch(ADDRESS);
    expect(inventory.child.exitCode).toBeNull();

    await proxy.open();
    await until('SERVING', () => checkHealth(inventory.grpcAddress));
    expect(await healthz()).toBe(200);
    const {stock} = await client.getStock({sku: SKU});
    expect(stock?.available).toBe(10);
  }, 60_000);
});

describe('statement timeout (issue 8: "no PostgreSQL statement, lock or pool-acquire timeout")', () => {
  it('answers DEADLINE_EXCEEDED naming the statement timeout when a statement outlives AGORA_DB_STATEMENT_TIMEOUT_MS, and serves on', async () => {
    // A transaction of the test holds the stock table in ACCESS EXCLUSIVE mode, so the
    // service's read waits past its 500 ms statement timeout.
    const locker = new pg.Client({connectionString: isolated.databaseUrl});
    locker.on('error', () => undefined);
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query(
        'lock table inventory.stock_item in access exclusive mode',
      );
      const started = Date.now();
      const err = await failure(client.getStock({sku: SKU}));
      expect(err.code).toBe(Code.DeadlineExceeded);
      expect(err.rawMessage).toMatch(/statement timeout/);
      expect(err.rawMessage).not.toMatch(/stock_item|select/i);
      expect(Date.now() - started).toBeLessThan(5_000);
      await locker.query('rollback');
    } finally {
      await locker.end();
    }
    const {stock} = await client.getStock({sku: SKU});
    expect(stock?.available).toBe(10);
  }, 30_000);
});
