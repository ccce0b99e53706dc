/**
 * `npm run bench:transport`: why the gRPC port is served by grpc-js. The same typed
 * handler (an in-memory GetStock) is served by our grpc-js adapter and by connect-node
 * over h2c, and a grpc-js client drives each with 64 calls in flight for a few seconds.
 * Prints calls per second and CPU per call of the server process side (this process).
 */
import * as http2 from 'node:http2';
import type {AddressInfo} from 'node:net';
import {connectNodeAdapter} from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import {InventoryService} from '../../gen/agora/inventory/v1/inventory_service_pb.js';
import {CallPipeline} from '../../services/common/rpc/call_pipeline.js';
import {addConnectService} from '../../services/common/rpc/grpc_adapter.js';
import {createGrpcClient} from '../../services/common/rpc/grpc_client.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const inFlight = 64;
const impl = {
  async getStock(req: {sku: string}) {
    return {stock: {sku: req.sku, onHand: 10, reserved: 2, available: 8}};
  },
};
const quiet = {onCallEnd: () => {}};

async function drive(address: string): Promise<{calls: number; cpuMs: number}> {
  const client = createGrpcClient(InventoryService, address);
  await client.getStock({sku: 'WARM'});
  const end = Date.now() + seconds * 1000;
  const cpu = process.cpuUsage();
  let calls = 0;
  await Promise.all(
    Array.from({length: inFlight}, async () => {
      while (Date.now() < end) {
        await client.getStock({sku: 'A-1'});
        calls++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  client.close();
  return {calls, cpuMs: (used.user + used.system) / 1000};
}

async function grpcJs(): Promise<string> {
  const server = new grpc.Server();
  addConnectService(
    server,
    InventoryService,
    impl,
    quiet,
    new AbortController().signal,
    new CallPipeline(),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      '127.0.0.1:0',
      grpc.ServerCredentials.createInsecure(),
      (e, p) => (e ? reject(e) : resolve(p)),
    ),
  );
  const r = await drive(`127.0.0.1:${port}`);
  server.forceShutdown();
  return report('grpc-js + typed adapter', r);
}

async function connectNode(): Promise<string> {
  const server = http2.createServer(
    connectNodeAdapter({
      routes: router => router.service(InventoryService, impl),
    }),
  );
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', s => sessions.add(s));
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const r = await drive(`127.0.0.1:${(server.address() as AddressInfo).port}`);
  for (const s of sessions) s.close();
  server.close();
  return report('connect-node (h2c)', r);
}

function report(name: string, r: {calls: number; cpuMs: number}): string {
  const rps = Math.round(r.calls / seconds);
  const cpuPerCall = (r.cpuMs / r.calls).toFixed(3);
  return `${name.padEnd(26)} ${String(rps).padStart(7)} calls/s   ${cpuPerCall} ms CPU per call (client + server, one process)`;
}

console.log(
  `unary GetStock, ${inFlight} in flight, ${seconds}s each, client and server in this process:`,
);
console.log(await grpcJs());
console.log(await connectNode());
process.exit(0);
