/**
 * Integration tests run the real system: the five services as processes, talking gRPC,
 * on the real PostgreSQL, Redis and RabbitMQ. Each test file gets its own database,
 * Redis key prefix and AMQP namespace, so test runs never touch `npm start` data.
 */
import {join} from 'node:path';
import {Redis} from 'ioredis';
import pg from 'pg';
import {InventoryService} from '../../../gen/agora/inventory/v1/inventory_service_pb.js';
import {OrderService} from '../../../gen/agora/order/v1/order_service_pb.js';
import {PaymentService} from '../../../gen/agora/payment/v1/payment_service_pb.js';
import {PricingService} from '../../../gen/agora/pricing/v1/pricing_service_pb.js';
import {ReportService} from '../../../gen/agora/report/v1/report_service_pb.js';
import {startMesh, type Mesh} from '../process/mesh.js';
import {loadTls, type TlsFiles} from '../auth/dev_ca.js';
import type {DevIssuer} from '../auth/dev_issuer.js';
import type {ServiceName} from '../config/service_config.js';
import {
  localDevCa,
  localDevIssuer,
  repoRoot,
} from '../process/service_process.js';
import {createGrpcClient} from '../rpc/grpc_client.js';
import {freshEnvironment, REDIS_URL} from './isolation.js';

/** Where a test reaches one service: its own process, or the balancer in front of it. */
export interface ServiceAddresses {
  /** gRPC (h2c, or mutual TLS when the system runs it). */
  grpcAddress: string;
  /** Connect, gRPC-Web and /healthz over plain HTTP/1.1. */
  httpAddress: string;
}

export interface TestSystem {
  /**
   * The services' addresses: each process's (startTestSystem) or HAProxy's frontends
   * (startReplicaTestSystem, replica_test_system.ts).
   */
  mesh: {processes: Record<ServiceName, ServiceAddresses>};
  namespace: string;
  databaseUrl: string;
  order: ReturnType<typeof createGrpcClient<typeof OrderService>>;
  payment: ReturnType<typeof createGrpcClient<typeof PaymentService>>;
  inventory: ReturnType<typeof createGrpcClient<typeof InventoryService>>;
  pricing: ReturnType<typeof createGrpcClient<typeof PricingService>>;
  report: ReturnType<typeof createGrpcClient<typeof ReportService>>;
  /** Mints the tokens tests call with; the clients above carry an admin's. */
  issuer: DevIssuer;
  /** The `authorization` header value of those clients (an admin's). */
  admin: string;
  /** The test database, for asserting what was (not) written. */
  db: pg.Pool;
  redis: Redis;
  stop(): Promise<void>;
}

/** A TestSystem of one process per service, which a test may inspect (pid, exit). */
export interface MeshTestSystem extends TestSystem {
  mesh: Mesh;
}

/** Drops and recreates the test database, clears the namespace, starts the mesh. */
export async function startTestSystem(
  name: string,
  env: Record<string, string> = {},
  /** Run the gRPC ports over mutual TLS, services calling each other with their certificates. */
  options: {mutualTls?: boolean} = {},
): Promise<MeshTestSystem> {
  const isolated = await freshEnvironment(
    `agora_test_${name.replace(/[^a-z0-9]/gi, '_')}`,
    `agoratest-${name}`,
  );
  const {namespace} = isolated;
  const databaseUrl = new URL(isolated.databaseUrl);
  const issuer = await localDevIssuer();
  const ca = options.mutualTls ? localDevCa() : undefined;
  const clientTls = ca?.files('client');

  // startMesh stops what it started when it fails, and nothing else is open yet, so a
  // failed setup leaves no process or connection behind to hold jest up.
  const mesh = await startMesh({
    env: {
      ...isolated.env,
      ...issuer.env,
      ...(ca?.env ?? {}),
      AGORA_LOG_LEVEL: 'info',
      AGORA_DRAIN_MS: '100',
      // Tracing costs start-up time and CPU; the tracing test turns it on.
      AGORA_TRACING: 'off',
      ...env,
    },
    anyPorts: true,
    logDir: join(repoRoot(), '.agora', 'test-logs', name),
    tls: clientTls,
  });
  try {
    const system = await connectTestSystem({
      addresses: mesh.processes,
      namespace,
      databaseUrl: databaseUrl.toString(),
      issuer,
      clientTls,
      stopServices: () => mesh.stop(),
    });
    return {...system, mesh};
  } catch (err) {
    await mesh.stop();
    throw err;
  }
}

/**
 * The clients, database pool and Redis connection of a TestSystem over services that
 * are already SERVING at `addresses`; stop() closes them, then calls `stopServices`.
 * The clients present `clientTls` when the services run mutual TLS.
 */
export async function connectTestSystem(opts: {
  addresses: Record<ServiceName, ServiceAddresses>;
  namespace: string;
  databaseUrl: string;
  issuer: DevIssuer;
  clientTls: TlsFiles | undefined;
  stopServices: () => Promise<void>;
}): Promise<TestSystem> {
  const {addresses: p, issuer, clientTls} = opts;
  const redis = new Redis(REDIS_URL);
  const admin = await issuer.bearer({subject: 'test-admin', roles: ['admin']});
  const clientOptions = {
    authorization: () => admin,
    tls: clientTls && loadTls(clientTls),
  };
  const system: TestSystem = {
    mesh: {processes: p},
    namespace: opts.namespace,
    databaseUrl: opts.databaseUrl,
    order: createGrpcClient(OrderService, p.order.grpcAddress, clientOptions),
    payment: createGrpcClient(
      PaymentService,
      p.payment.grpcAddress,
      clientOptions,
    ),
    inventory: createGrpcClient(
      InventoryService,
      p.inventory.grpcAddress,
      clientOptions,
    ),
    pricing: createGrpcClient(
      PricingService,
      p.pricing.grpcAddress,
      clientOptions,
    ),
    report: createGrpcClient(
      ReportService,
      p.report.grpcAddress,
      clientOptions,
    ),
    issuer,
    admin,
    db: new pg.Pool({connectionString: opts.databaseUrl, max: 4}),
    redis,
    stop: async () => {
      for (const c of [
        system.order,
        system.payment,
        system.inventory,
        system.pricing,
        system.report,
      ])
        c.close();
      await opts.stopServices();
      await system.db.end();
      redis.disconnect();
    },
  };
  return system;
}

/** Polls `probe` until it returns a value that is not undefined (or times out). */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise(r => setTimeout(r, 100));
  }
}
