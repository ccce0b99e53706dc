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
  Code,
  ConnectError,
  cors as connectCors,
  createConnectRouter,
  type ConnectRouterOptions,
  type Interceptor,
  type ServiceImpl,
} from '@connectrpc/connect';
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from '@connectrpc/connect-node';
import type {UniversalServerResponse} from '@connectrpc/connect/protocol';
import {CallPipeline, PRINCIPAL} from './call_pipeline.js';
import {toConnectError} from './error_mapping.js';
import type {CallObserver} from './grpc_adapter.js';

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
 * Runs the call pipeline (authenticate, authorize, limits, validate) and maps thrown
 * errors, for unary and streaming calls alike: what the gRPC port does to every call.
 * Exported for RPC tests over an in-memory router (auth off unless a pipeline is given).
 */
export function edgeInterceptor(
  observer: CallObserver = {onCallEnd: () => {}},
  pipeline: CallPipeline = new CallPipeline(),
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
      const principal = await pipeline.admit(
        req.method,
        req.header.get('authorization') ?? undefined,
        req.stream ? undefined : req.message,
      );
      req.contextValues.set(PRINCIPAL, principal);
      const release =
        req.method.methodKind === 'server_streaming'
          ? pipeline.openStream(principal)
          : () => {};
      let res;
      try {
        res = await next(req);
      } catch (err) {
        release();
        throw err;
      }
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
          } finally {
            release();
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

export interface HttpEdgeOptions {
  bindings: ServiceBinding[];
  host: string;
  /** 0 picks a free one. */
  port: number;
  isServing: () => boolean;
  observer: CallObserver;
  pipeline: CallPipeline;
  /** Origins a browser may call from (exact match); none: no cross-origin calls. */
  corsOrigins: readonly string[];
  /** Host header names accepted (without port); `*` accepts any. Stops DNS rebinding. */
  allowedHosts: readonly string[];
  /** Largest request message, after decompression. */
  maxRequestBytes: number;
  metrics?: {render(): Promise<string>; contentType: string};
}

/** Starts the edge listener. */
export async function startHttpEdge(opts: HttpEdgeOptions): Promise<HttpEdge> {
  const {bindings, isServing, metrics} = opts;
  const handler = connectHandler(bindings, {
    interceptors: [edgeInterceptor(opts.observer, opts.pipeline)],
    // Bounds the message after decompression too, so a gzip bomb stops at the limit.
    readMaxBytes: opts.maxRequestBytes,
    acceptCompression: [compressionGzip, compressionBrotli],
  });
  const origins = new Set(opts.corsOrigins);
  const anyHost = opts.allowedHosts.includes('*');
  const hosts = new Set(opts.allowedHosts.map(h => h.toLowerCase()));
  // Room for the envelope and a JSON encoding's overhead over the binary message size.
  const maxBodyBytes = opts.maxRequestBytes * 2 + 1024;
  const server = http.createServer((req, res) => {
    // Before the Host check: load balancers' checks (HAProxy's HTTP/1.0 GET) send no Host.
    if (req.url === '/healthz') {
      const ok = isServing();
      res.writeHead(ok ? 200 : 503, {'content-type': 'text/plain'});
      res.end(ok ? 'SERVING\n' : 'NOT_SERVING\n');
      return;
    }
    if (!anyHost && !hosts.has(hostName(req.headers.host))) {
      res
        .writeHead(421, {'content-type': 'text/plain'})
        .end('unknown Host; see AGORA_ALLOWED_HOSTS\n');
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!origins.has(origin)) {
        res
          .writeHead(403, {'content-type': 'text/plain'})
          .end('origin not allowed; see AGORA_CORS_ORIGINS\n');
        return;
      }
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader(
        'Access-Control-Allow-Methods',
        connectCors.allowedMethods.join(', '),
      );
      res.setHeader(
        'Access-Control-Allow-Headers',
        [...connectCors.allowedHeaders, 'Authorization'].join(', '),
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
    if (req.url === '/metrics' && metrics) {
      opts.pipeline
        .admitOperator(req.headers.authorization)
        .then(() => metrics.render())
        .then(
          text =>
            res.writeHead(200, {'content-type': metrics.contentType}).end(text),
          (err: unknown) => {
            const refused = err instanceof ConnectError;
            res
              .writeHead(
                !refused ? 500 : err.code === Code.PermissionDenied ? 403 : 401,
                {'content-type': 'text/plain'},
              )
              .end(refused ? `${err.rawMessage}\n` : 'metrics failed\n');
          },
        );
      return;
    }
    // Refuse a body that announces itself too large before reading a byte of it;
    // one without a length is bounded while it is read (readMaxBytes).
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > maxBodyBytes) {
      res
        .writeHead(413, {'content-type': 'text/plain', connection: 'close'})
        .end(`request body over ${maxBodyBytes} bytes\n`);
      req.destroy();
      return;
    }
    handler(req, res);
  });
  // Keep-alive sockets would hold close() open; we close idle ones at shutdown.
  server.keepAliveTimeout = 5000;
  // A client that trickles its headers or body must not hold a socket forever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
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

/**
 * connect-node's request handler (what connectNodeAdapter builds), with one mend:
 * connect-es answers a Connect request whose binary body is not a protobuf message
 * INTERNAL ("parse binary: …", protocol/serialization.ts), which tells the caller the
 * server broke. It is bad input, as it is on the gRPC port (and for bad JSON here):
 * INVALID_ARGUMENT.
 */
function connectHandler(
  bindings: ServiceBinding[],
  options: ConnectRouterOptions,
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const router = createConnectRouter(options);
  for (const b of bindings) router.service(b.service, b.impl as never);
  const paths = new Map(router.handlers.map(h => [h.requestPath, h]));
  return (req, res) => {
    const handler = paths.get(req.url?.split('?', 1)[0] ?? '');
    if (!handler) {
      res.writeHead(404).end();
      return;
    }
    handler(universalRequestFromNodeRequest(req, res, undefined, undefined))
      .then(uRes => mendParseError(uRes, handler.method.input.typeName))
      .then(uRes => universalResponseToNodeResponse(uRes, res))
      .catch(() => res.destroy());
  };
}

async function mendParseError(
  uRes: UniversalServerResponse,
  typeName: string,
): Promise<UniversalServerResponse> {
  // Only a Connect unary error is a 500 with a JSON body; everything else passes as is.
  if (uRes.status !== 500 || !uRes.body) return uRes;
  const chunks: Uint8Array[] = [];
  for await (const chunk of uRes.body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  let error: {code?: string; message?: string} = {};
  try {
    error = JSON.parse(bytes.toString('utf8'));
  } catch {
    // not JSON: passed on unchanged below
  }
  const parseError =
    error.code === 'internal' && error.message?.startsWith('parse binary:');
  const body = parseError
    ? Buffer.from(
        JSON.stringify({
          code: 'invalid_argument',
          message: `the request is not a valid ${typeName} message`,
        }),
      )
    : bytes;
  const header = new Headers(uRes.header);
  header.delete('content-length');
  return {
    ...uRes,
    status: parseError ? 400 : uRes.status,
    header,
    body: (async function* () {
      yield body;
    })(),
  };
}

/** The host name of a Host header, without port or IPv6 brackets, lower-cased. */
function hostName(host: string | undefined): string {
  if (!host) return '';
  const name = host.startsWith('[')
    ? host.slice(1, host.indexOf(']'))
    : host.replace(/:\d+$/, '');
  return name.toLowerCase();
}
