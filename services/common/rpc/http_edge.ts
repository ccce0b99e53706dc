/**
 * The HTTP/1.1 edge of a service: Connect (JSON or binary) and gRPC-Web for browsers and
 * curl, plus a plain `/healthz` for load balancers.
 *
 * Why a second listener: grpc-js (the fast gRPC port) speaks only gRPC over HTTP/2, and
 * browsers cannot speak that. connect-node serves the same handler objects here, with the
 * same validation and error table. HTTP/1.1 because browsers and curl use it without
 * prior knowledge, and because HAProxy's HTTP/2 health checks fail against node:http2
 * (STACK.md §9) while HTTP/1.1 checks work.
 */
import * as http from 'node:http';
import type {AddressInfo} from 'node:net';
import type {DescService} from '@bufbuild/protobuf';
import {
  cors as connectCors,
  type ConnectRouter,
  type Interceptor,
  type ServiceImpl,
} from '@connectrpc/connect';
import {connectNodeAdapter} from '@connectrpc/connect-node';
import {toConnectError} from './error_mapping.js';
import type {CallObserver} from './grpc_adapter.js';
import {validateRequest} from './validation.js';

/** A service and its implementation, mounted on both listeners. */
export interface ServiceBinding<S extends DescService = DescService> {
  service: S;
  impl: Partial<ServiceImpl<S>>;
}

/** Binds a service and its handler object with full typing. */
export function bindService<S extends DescService>(
  service: S,
  impl: Partial<ServiceImpl<S>>,
): ServiceBinding {
  return {service, impl} as unknown as ServiceBinding;
}

/**
 * Validates requests and maps thrown errors, for unary and streaming calls alike: what
 * the service host does to every call. Exported for RPC tests over an in-memory router.
 */
export function edgeInterceptor(
  observer: CallObserver = {onCallEnd: () => {}},
): Interceptor {
  return next => async req => {
    const start = performance.now();
    const done = (err?: unknown) => {
      const error = err === undefined ? undefined : toConnectError(err);
      observer.onCallEnd(
        req.service,
        req.method,
        performance.now() - start,
        error,
      );
      return error;
    };
    try {
      if (!req.stream) validateRequest(req.method.input, req.message);
      const res = await next(req);
      if (!res.stream) {
        done();
        return res;
      }
      const inner = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* inner;
            done();
          } catch (err) {
            throw done(err);
          }
        })(),
      };
    } catch (err) {
      throw done(err);
    }
  };
}

export interface HttpEdge {
  server: http.Server;
  port: number;
  close(): Promise<void>;
}

/** Starts the edge listener on host:port (port 0 picks a free one). */
export async function startHttpEdge(
  bindings: ServiceBinding[],
  host: string,
  port: number,
  isServing: () => boolean,
  observer: CallObserver,
  metrics?: {render(): Promise<string>; contentType: string},
): Promise<HttpEdge> {
  const handler = connectNodeAdapter({
    routes: (router: ConnectRouter) => {
      for (const b of bindings) router.service(b.service, b.impl as never);
    },
    interceptors: [edgeInterceptor(observer)],
  });
  const server = http.createServer((req, res) => {
    if (req.method === 'OPTIONS' || req.headers.origin) {
      // Browsers: allow any origin to call the API; credentials are not used.
      res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*');
      res.setHeader(
        'Access-Control-Allow-Methods',
        connectCors.allowedMethods.join(', '),
      );
      res.setHeader(
        'Access-Control-Allow-Headers',
        connectCors.allowedHeaders.join(', '),
      );
      res.setHeader(
        'Access-Control-Expose-Headers',
        connectCors.exposedHeaders.join(', '),
      );
      res.setHeader('Access-Control-Max-Age', '7200');
      if (req.method === 'OPTIONS') {
        res.writeHead(204).end();
        return;
      }
    }
    if (req.url === '/healthz') {
      const ok = isServing();
      res.writeHead(ok ? 200 : 503, {'content-type': 'text/plain'});
      res.end(ok ? 'SERVING\n' : 'NOT_SERVING\n');
      return;
    }
    if (req.url === '/metrics' && metrics) {
      metrics.render().then(
        text =>
          res.writeHead(200, {'content-type': metrics.contentType}).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    handler(req, res);
  });
  // Keep-alive sockets would hold close() open; we close idle ones at shutdown.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
