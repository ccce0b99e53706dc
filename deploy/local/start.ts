/**
 * `npm start`: runs the whole system on this machine. PostgreSQL, Redis and RabbitMQ are
 * checked (and started) by infra.sh before this runs; this starts the five services on
 * their default ports, seeds the demo catalogue into an empty database, waits for every
 * service to report SERVING, prints where each listens, and stops everything on Ctrl-C.
 * A service that exits meanwhile is restarted with back-off on the same ports
 * (supervisor.ts); the others keep serving.
 */
import {join} from 'node:path';
import {
  HTTP_PORT_OFFSET,
  SERVICE_PORTS,
  type ServiceName,
} from '../../services/common/config/service_config.js';
import {JAEGER_OTLP_HTTP} from '../../services/common/process/jaeger.js';
import {startMesh} from '../../services/common/process/mesh.js';
import {
  localDevCa,
  localDevIssuer,
  repoRoot,
} from '../../services/common/process/service_process.js';
import {DEMO_SKUS, seedDemoCatalogue} from './demo_catalogue.js';
import {LocalTracing} from './local_tracing.js';
import {supervised} from './supervised_process.js';
import {Supervisor} from './supervisor.js';

const logDir = join(repoRoot(), '.agora', 'logs');

async function main(): Promise<void> {
  const tracing = await LocalTracing.prepare();
  // Every RPC needs a bearer token; this development issuer signs them (npm run token).
  const issuer = await localDevIssuer();
  // AGORA_TLS=on: the gRPC ports run mutual TLS with the development CA (.agora/tls).
  const ca = process.env.AGORA_TLS === 'on' ? localDevCa() : undefined;
  const clientTls = ca?.files('client');
  if (!tracing.jaeger) console.log(`agora: tracing ${tracing.state}`);
  console.log('agora: starting order, payment, inventory, pricing and report…');
  const mesh = await startMesh({
    env: {
      ...issuer.env,
      ...(ca?.env ?? {}),
      AGORA_LOG_LEVEL: process.env.AGORA_LOG_LEVEL ?? 'info',
      AGORA_TRACING: tracing.on ? 'on' : 'off',
      OTEL_EXPORTER_OTLP_ENDPOINT:
        process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? JAEGER_OTLP_HTTP,
    },
    anyPorts: false,
    logDir,
    tls: clientTls,
  });
  const names = Object.keys(SERVICE_PORTS) as ServiceName[];
  const supervisors = names.map(name => {
    const supervisor = new Supervisor(
      name,
      async () => supervised(await mesh.respawn(name)),
      {log: line => console.error(`${line} (log: ${logDir}/${name}.log)`)},
    );
    supervisor.watch(supervised(mesh.processes[name]));
    return supervisor;
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(
      `\nagora: ${signal}: stopping every service (draining in-flight calls)…`,
    );
    // Supervisors first, so no stopped service is started again.
    await Promise.all(supervisors.map(s => s.stop()));
    await mesh.stop();
    await tracing.stop();
    console.log('agora: stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const seeded = await seedDemoCatalogue(
    mesh.processes.pricing.grpcAddress,
    mesh.processes.inventory.grpcAddress,
    await issuer.bearer({subject: 'demo-seeder', roles: ['admin']}),
    clientTls,
  );
  console.log(
    seeded
      ? 'agora: seeded the demo catalogue'
      : 'agora: catalogue already present; not seeding',
  );

  console.log('\nagora: all five services are SERVING (grpc.health.v1)\n');
  console.log(
    '  service     gRPC (grpc-js, reflection)   Connect + gRPC-Web (HTTP/1.1)',
  );
  for (const name of names) {
    const p = mesh.processes[name];
    console.log(
      `  ${name.padEnd(10)}  ${p.grpcAddress.padEnd(27)}  http://${p.httpAddress}`,
    );
  }
  const sku = DEMO_SKUS[0].sku;
  console.log(`
  demo SKUs: ${DEMO_SKUS.map(s => s.sku).join(', ')} (USD and EUR prices)
  logs:      ${logDir}/<service>.log
  metrics:   http://<HTTP address>/metrics (Prometheus text format)
  traces:    ${tracing.summary}
  auth:      every RPC needs "authorization: Bearer <JWT>"; the development issuer is
             ${issuer.dir} (JWKS: ${issuer.jwksFile})${
               clientTls
                 ? `\n  mTLS:      the gRPC ports need a client certificate: with buf curl use https://, drop\n             --http2-prior-knowledge, add --cacert ${clientTls.ca} --cert ${clientTls.cert} --key ${clientTls.key}`
                 : ''
             }

Get a token (a customer acts only for itself; --role admin for prices, stock, reports):

  TOKEN=$(npm run --silent token -- --customer alice)

Place an order as alice (buf curl comes with the project; reflection, no schema needed):

  npx buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $TOKEN" \\
    -d '{"request_id":"'$(cat /proc/sys/kernel/random/uuid)'","customer_id":"alice","currency_code":"USD","lines":[{"sku":"${sku}","quantity":2}],"payment_token":"tok_visa"}' \\
    http://127.0.0.1:${SERVICE_PORTS.order}/agora.order.v1.OrderService/CreateOrder

Or over Connect JSON with plain curl:

  curl -s -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"sku":"${sku}"}' \\
    http://127.0.0.1:${SERVICE_PORTS.inventory + HTTP_PORT_OFFSET}/agora.inventory.v1.InventoryService/GetStock

Then print its trace (every span across Order, Pricing, Inventory and Payment):

  npm run trace -- <order_id from the answer>

Ctrl-C stops everything.`);
  tracing.buildInBackground();
}

main().catch(err => {
  console.error(
    `agora: failed to start: ${err instanceof Error ? err.message : String(err)}`,
  );
  console.error(`agora: service logs are in ${logDir}`);
  process.exit(1);
});
