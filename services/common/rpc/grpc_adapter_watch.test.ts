/**
 * Watch streams on a real grpc-js server and client (in process, loopback): the live
 * events that liveCallOf() writes straight to each call's HTTP/2 stream arrive after
 * the snapshot grpc-js wrote, in order, byte for byte, and a watcher that stops reading
 * is dropped (RESOURCE_EXHAUSTED) instead of pinning memory.
 */
import {create, toBinary} from '@bufbuild/protobuf';
import type {HandlerContext} from '@connectrpc/connect';
import * as grpc from '@grpc/grpc-js';
import {
  InventoryService,
  WatchStockResponseSchema,
} from '../../../gen/agora/inventory/v1/inventory_service_pb.js';
import {CallPipeline} from './call_pipeline.js';
import {addConnectService} from './grpc_adapter.js';
import {createGrpcClient} from './grpc_client.js';
import {Hub, liveEvents} from './streams.js';

const hub = new Hub<Uint8Array>();
const SNAPSHOT = 50;
const shutdown = new AbortController();
const server = new grpc.Server();
addConnectService(
  server,
  InventoryService,
  {
    async *watchStock(_req, ctx: HandlerContext) {
      const live = liveEvents(ctx, WatchStockResponseSchema, push =>
        hub.subscribe(push),
      );
      try {
        // Enough snapshot messages that grpc-js still holds some when the live part starts.
        for (let i = 0; i < SNAPSHOT; i++)
          yield {level: {sku: `S-${i}`, onHand: i, warehouseId: 'snapshot'}};
        yield* live;
      } finally {
        live.close();
      }
    },
  },
  {onCallEnd: () => undefined},
  shutdown.signal,
  new CallPipeline(),
);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync(
    '127.0.0.1:0',
    grpc.ServerCredentials.createInsecure(),
    (err, p) => (err ? reject(err) : resolve(p)),
  ),
);
const client = createGrpcClient(InventoryService, `127.0.0.1:${port}`);
afterAll(() => {
  client.close();
  shutdown.abort();
  server.forceShutdown();
});

function level(i: number, padding = 0): Uint8Array {
  return toBinary(
    WatchStockResponseSchema,
    create(WatchStockResponseSchema, {
      level: {sku: `L-${i}`, onHand: i, warehouseId: 'x'.repeat(padding)},
    }),
  );
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++)
    await new Promise(r => setTimeout(r, 10));
}

describe('watch streams on the gRPC port (liveCallOf)', () => {
  it('delivers the snapshot, then every live event in order, on every watcher', async () => {
    const watchers = 3;
    const LIVE = 500;
    const got: string[][] = Array.from({length: watchers}, () => []);
    const abort = new AbortController();
    const reading = got.map(async list => {
      for await (const m of client.watchStock(
        {skus: ['S-0']},
        {signal: abort.signal},
      ))
        list.push(m.level!.sku);
    });
    await until(() => hub.size === watchers);
    for (let i = 0; i < LIVE; i++) hub.publish(level(i));
    await until(() => got.every(l => l.length === SNAPSHOT + LIVE));
    abort.abort();
    await Promise.allSettled(reading);
    const want = [
      ...Array.from({length: SNAPSHOT}, (_, i) => `S-${i}`),
      ...Array.from({length: LIVE}, (_, i) => `L-${i}`),
    ];
    for (const list of got) expect(list).toEqual(want);
  });

  it('drops a watcher that stops reading once it falls 1,000 events behind', async () => {
    const channel = new grpc.Client(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
    );
    const call = channel.makeServerStreamRequest<Uint8Array, Buffer>(
      '/agora.inventory.v1.InventoryService/WatchStock',
      b => Buffer.from(b),
      b => b,
      new Uint8Array(),
      new grpc.Metadata(),
      {},
    );
    call.on('error', () => undefined);
    call.pause(); // reads nothing: HTTP/2 flow control stops the server's writes
    await until(() => hub.size === 1); // the earlier test's watchers have gone
    expect(hub.size).toBe(1);
    // 2,000 events of 1 KiB: far past the flow-control windows and the 1,000-event
    // backlog. The server gives up on the watcher at once (RESOURCE_EXHAUSTED, which
    // reaches the client behind the bytes it has not read): its subscription is gone.
    for (let i = 0; i < 2000; i++) hub.publish(level(i, 1024));
    await until(() => hub.size === 0);
    expect(hub.size).toBe(0);
    call.cancel();
    channel.close();
  });
});
