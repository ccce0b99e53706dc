/**
 * Thousands of watch streams held by one process, for `npm run bench:watchers`.
 *
 * Each watcher is one server-streaming call with its own bearer token, so every stream
 * is a distinct caller to the server's per-caller limits. Responses are kept as the
 * bytes that arrived and decoded only after the run (watcher_checks.ts): decoding
 * 10,000+ messages a second would take CPU from the services on this 2-core machine
 * while the order rate is measured.
 *
 * grpc-js shares one HTTP/2 connection between channels with the same target and
 * options (its global subchannel pool); the server admits 1,000 concurrent streams per
 * connection, so every channel here takes a local pool and hence its own connection.
 */
import * as grpc from '@grpc/grpc-js';

export type StreamKind = 'orders' | 'stock' | 'alerts' | 'prices';

export const STREAM_KINDS: readonly StreamKind[] = [
  'orders',
  'stock',
  'alerts',
  'prices',
];

/** One watch stream and everything it received. */
export interface Watcher {
  kind: StreamKind;
  index: number;
  /** The token's subject: a customer id, or an admin's name. */
  subject: string;
  authorization: string;
  /** The one SKU watched (stock, prices). */
  sku?: string;
  /** The request, already encoded. */
  request: Uint8Array;
  /** Date.now() when the call was started (0 until then). */
  openedAt: number;
  /** Each response's bytes, in arrival order. */
  frames: Buffer[];
  /** How the stream ended, when it did (before the bench cancelled it, or after). */
  end?: {at: number; code: grpc.status; details: string};
  /** True when the bench cancelled it while it was still open (not an early end). */
  cancelledByBench: boolean;
  call?: grpc.ClientReadableStream<Buffer>;
}

/** Channels to one address, each its own HTTP/2 connection, `perChannel` streams each. */
export class ChannelPool {
  private readonly channels: grpc.Client[] = [];
  private assigned = 0;

  constructor(
    private readonly address: string,
    private readonly perChannel: number,
  ) {}

  /** The channel for the next stream. */
  next(): grpc.Client {
    const slot = Math.floor(this.assigned++ / this.perChannel);
    while (this.channels.length <= slot) {
      this.channels.push(
        new grpc.Client(this.address, grpc.credentials.createInsecure(), {
          'grpc.use_local_subchannel_pool': 1,
          'grpc.enable_retries': 0,
        }),
      );
    }
    return this.channels[slot];
  }

  get size(): number {
    return this.channels.length;
  }

  close(): void {
    for (const c of this.channels) c.close();
  }
}

/** Starts `w`'s call on `channel`; its responses and its end are recorded on `w`. */
export function openWatcher(
  w: Watcher,
  channel: grpc.Client,
  path: string,
): void {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', w.authorization);
  w.openedAt = Date.now();
  const call = channel.makeServerStreamRequest<Uint8Array, Buffer>(
    path,
    bytes => Buffer.from(bytes),
    // A copy: a slice would pin the whole HTTP/2 read buffer it came in.
    bytes => Buffer.from(bytes),
    w.request,
    metadata,
    {},
  );
  w.call = call;
  call.on('data', (bytes: Buffer) => w.frames.push(bytes));
  call.on('status', (s: grpc.StatusObject) => {
    w.end ??= {at: Date.now(), code: s.code, details: s.details};
  });
  // The status event above carries the error; without a listener it would throw.
  call.on('error', () => undefined);
}

/**
 * Opens every watcher at `perSecond` overall, in the order given, and resolves when the
 * last call has started. A steady pace keeps token verification and the per-caller
 * opening budget out of what is measured.
 */
export async function openAll(
  watchers: readonly Watcher[],
  perSecond: number,
  open: (w: Watcher) => void,
): Promise<void> {
  const start = Date.now();
  let opened = 0;
  while (opened < watchers.length) {
    const due = Math.min(
      watchers.length,
      Math.floor(((Date.now() - start) * perSecond) / 1000) + 1,
    );
    while (opened < due) open(watchers[opened++]);
    await new Promise(r => setTimeout(r, 20));
  }
}

/** Cancels every call still open, marking it as cancelled by the bench first. */
export function cancelAll(watchers: readonly Watcher[]): void {
  for (const w of watchers) {
    if (w.end) continue;
    w.cancelledByBench = true;
    w.call?.cancel();
  }
}
