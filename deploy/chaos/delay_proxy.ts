/**
 * A TCP proxy that can hold the answers of the service behind it: the chaos suite puts
 * one between Order and Payment, and while a delay is set every byte Payment sends back
 * reaches Order `delayMs` later (requests pass at once). So Payment really authorizes
 * and captures, and Order's call runs out of time before it hears so: the "charge
 * answer lost" case, with no hook in the services.
 *
 * Bytes keep their order: each chunk is released no earlier than the one before it.
 */
import {createServer, connect, type Server, type Socket} from 'node:net';

export interface DelayProxy {
  /** host:port to dial instead of the target. */
  address: string;
  /** Sets the delay of upstream → client bytes (0: pass at once). */
  setResponseDelay(ms: number): void;
  close(): Promise<void>;
}

/**
 * Holds chunks and releases them in order, each at (arrival + delay) or after the one
 * before it, whichever is later. Pure apart from the timer, so it is tested alone.
 */
export class DelayedPipe {
  private releaseAt = 0;
  private pending = 0;

  constructor(
    private readonly write: (chunk: Buffer) => void,
    private readonly delayMs: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  push(chunk: Buffer): void {
    const delay = this.delayMs();
    if (delay <= 0 && this.pending === 0) {
      this.write(chunk);
      return;
    }
    const at = Math.max(this.now() + delay, this.releaseAt);
    this.releaseAt = at;
    this.pending++;
    setTimeout(
      () => {
        this.pending--;
        this.write(chunk);
      },
      Math.max(0, at - this.now()),
    );
  }

  /** Chunks held and not yet written. */
  get held(): number {
    return this.pending;
  }
}

/** Listens on 127.0.0.1:`port` (0: any) and forwards every connection to `target`. */
export async function startDelayProxy(
  target: {host: string; port: number},
  port = 0,
): Promise<DelayProxy> {
  let delayMs = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer(client => {
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const toClient = new DelayedPipe(
      chunk => {
        if (!client.destroyed) client.write(chunk);
      },
      () => delayMs,
    );
    upstream.on('data', chunk => toClient.push(chunk));
    client.pipe(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    // The target went away (killed, restarting): the client sees a closed connection,
    // as it would without the proxy.
    upstream.on('close', end);
    upstream.on('error', end);
    client.on('close', end);
    client.on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string')
    throw new Error('delay proxy: no TCP address');
  return {
    address: `127.0.0.1:${bound.port}`,
    setResponseDelay: ms => {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>(resolve => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
