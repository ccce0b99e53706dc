import {createConnection, createServer, type Socket} from 'node:net';
import {Code} from '@connectrpc/connect';
import {createLogger} from '../log/logger.js';
import {toConnectError} from '../rpc/error_mapping.js';
import {connectRedis, whenReady} from './redis.js';

/**
 * A TCP proxy to the real Redis that can be frozen: the handshake goes through, then
 * nothing more reaches Redis. That is what a Redis stuck in a long command, or a
 * half-dead network, looks like to a client (the socket stays open, no answer comes).
 */
function freezableRedis(): Promise<{
  port: number;
  freeze(): void;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let frozen = false;
  const server = createServer(client => {
    const upstream = createConnection(6379, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', chunk => {
      if (!frozen) upstream.write(chunk);
    });
    upstream.on('data', chunk => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const close = () =>
    new Promise<void>(resolve => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  return new Promise(resolve =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as {port: number}).port,
        freeze: () => {
          frozen = true;
        },
        close,
      }),
    ),
  );
}

describe('connectRedis() (issue 8: "no Redis command timeout")', () => {
  it('fails a command to a Redis that stopped answering (socket open, no reply) within the command timeout, and the caller gets UNAVAILABLE', async () => {
    const hung = await freezableRedis();
    const redis = connectRedis(
      `redis://127.0.0.1:${hung.port}/0`,
      createLogger('test', 'error'),
      'hung-test',
      {commandMs: 300, connectMs: 1000},
    );
    try {
      expect(await whenReady(redis, 5000)).toBe(true);
      expect(await redis.ping()).toBe('PONG');
      hung.freeze();
      const started = Date.now();
      const err = await redis.get('agora:any').then(
        () => undefined,
        (e: unknown) => e,
      );
      const took = Date.now() - started;
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toBe('Command timed out');
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(3000);
      expect(toConnectError(err).code).toBe(Code.Unavailable);
    } finally {
      redis.disconnect();
      await hung.close();
    }
  });
});
