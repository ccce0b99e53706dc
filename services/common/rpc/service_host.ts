/**
 * Runs a service process: the gRPC port (grpc-js) with health and reflection, the HTTP
 * edge (Connect, gRPC-Web, /healthz), and a graceful shutdown.
 *
 * Shutdown order on SIGTERM or SIGINT, measured to lose no call behind a load balancer
 * during a rolling restart (STACK.md §9): health NOT_SERVING → wait `drainMs` so the
 * balancer takes the process out → stop accepting and let in-flight calls finish
 * (grpc-js tryShutdown sends GOAWAY) → close pools (`onStop` hooks, in reverse order of
 * registration) → exit. A process still busy after 10 s is force-closed.
 */
import type {AddressInfo} from 'node:net';
import type {DescMethod, DescService} from '@bufbuild/protobuf';
import {Code, type ConnectError} from '@connectrpc/connect';
import * as grpc from '@grpc/grpc-js';
import {Health} from '../../../gen/grpc/health/v1/health_pb.js';
import type {ServiceConfig} from '../config/service_config.js';
import type {Logger} from '../log/logger.js';
import type {TlsMaterial} from '../auth/tls_config.js';
import {TokenVerifier} from '../auth/token_verifier.js';
import {CallPipeline} from './call_pipeline.js';
import {isServerFault} from './error_mapping.js';
import {HealthService} from './health.js';
import {RateLimiter} from './rate_limiter.js';
import {ReadinessProbe, type ReadinessCheck} from './readiness.js';
import {addConnectService, type CallObserver} from './grpc_adapter.js';
import {
  startHttpEdge,
  type HttpEdge,
  type ServiceBinding,
} from './http_edge.js';
import {addReflection} from './reflection.js';
import type {ServiceMetrics} from '../telemetry/metrics.js';

export interface RunningService {
  grpcPort: number;
  httpPort: number;
  /** Stops the process's servers and runs the onStop hooks (what SIGTERM does). */
  stop(): Promise<void>;
}

export interface HostOptions {
  config: ServiceConfig;
  /** Serve the gRPC port over mutual TLS (a client certificate from the CA is required). */
  tls?: TlsMaterial;
  log: Logger;
  bindings: ServiceBinding[];
  /** Cleanups (close DB pool, Redis, AMQP), run after the servers stopped. */
  onStop: Array<() => Promise<void> | void>;
  /** Extra observers of finished calls. */
  observers?: CallObserver[];
  /** Served at /metrics on the HTTP port; its observer counts every call. */
  metrics?: ServiceMetrics;
  /** Install SIGTERM/SIGINT handlers (off in tests that host in-process). */
  handleSignals?: boolean;
  /**
   * Dependencies the process cannot serve without (its PostgreSQL): while one fails,
   * health answers NOT_SERVING and /healthz 503 (readiness.ts).
   */
  readiness?: ReadinessCheck[];
}

const FORCE_EXIT_MS = 10_000;

/** Starts serving; resolves once both listeners are bound and health says SERVING. */
export async function hostService(opts: HostOptions): Promise<RunningService> {
  const {config, log, bindings} = opts;
  const shutdown = new AbortController();
  const observers: CallObserver[] = [
    logObserver(log),
    ...(opts.observers ?? []),
  ];
  if (opts.metrics) observers.push(opts.metrics.observer());
  const observer: CallObserver = {
    onCallEnd: (s, m, ms, e) => {
      for (const o of observers) o.onCallEnd(s, m, ms, e);
    },
  };

  if (!config.auth.enabled) {
    log.warn('authentication is OFF (AGORA_AUTH=off): every caller is admin');
  }
  const pipeline = new CallPipeline(
    config.auth.enabled
      ? {
          verifier: new TokenVerifier(config.auth),
          limiter: new RateLimiter(config.rateLimits),
          maxStreamsPerCaller: config.rateLimits.maxStreamsPerCaller,
        }
      : {},
  );
  const server = new grpc.Server({
    // Let a slow client keep at most this many concurrent calls per connection.
    'grpc.max_concurrent_streams': 1000,
    // grpc-js checks this after decompression too (a gzip bomb stops at the limit).
    'grpc.max_receive_message_length': config.maxRequestBytes,
  });
  for (const b of bindings) {
    addConnectService(
      server,
      b.service,
      b.impl,
      observer,
      shutdown.signal,
      pipeline,
    );
  }
  const health = new HealthService([
    '',
    ...bindings.map(b => b.service.typeName),
  ]);
  health.addToServer(server);
  // The health service is described too, so `buf curl` can call it by reflection.
  addReflection(server, [...bindings.map(b => b.service), Health]);

  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${config.host}:${config.grpcPort}`,
      opts.tls
        ? grpc.ServerCredentials.createSsl(
            opts.tls.ca,
            [{cert_chain: opts.tls.cert, private_key: opts.tls.key}],
            true,
          )
        : grpc.ServerCredentials.createInsecure(),
      (err, port) => (err ? reject(err) : resolve(port)),
    ),
  );
  let serving = false;
  let stoppingNow = false;
  const edge: HttpEdge = await startHttpEdge({
    bindings,
    host: config.host,
    port: config.httpPort,
    isServing: () => serving,
    observer,
    pipeline,
    corsOrigins: config.corsOrigins,
    allowedHosts: config.allowedHosts,
    maxRequestBytes: config.maxRequestBytes,
    metrics: opts.metrics,
  });
  const setServing = (status: 'SERVING' | 'NOT_SERVING') => {
    serving = status === 'SERVING';
    health.setStatus(status);
  };
  // Ready at start (migrations just ran on the database); a draining process stays
  // NOT_SERVING whatever its dependencies say.
  const readiness = new ReadinessProbe(
    opts.readiness ?? [],
    config.readiness,
    log,
    ready => {
      if (!stoppingNow) setServing(ready ? 'SERVING' : 'NOT_SERVING');
    },
  );
  setServing('SERVING');
  readiness.start();
  log.lifecycle('serving', {
    grpc: `${config.host}:${grpcPort}`,
    http: `${config.host}:${edge.port}`,
  });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('shutting down: NOT_SERVING, draining', {
        drainMs: config.drainMs,
      });
      stoppingNow = true;
      setServing('NOT_SERVING');
      await readiness.stop();
      const force = setTimeout(() => {
        log.warn('in-flight calls did not finish in time; forcing shutdown');
        server.forceShutdown();
        edge.server.closeAllConnections();
      }, FORCE_EXIT_MS + config.drainMs);
      force.unref();
      await sleep(config.drainMs);
      shutdown.abort(); // ends open streams (watches) so they do not hold the drain
      await Promise.all([
        new Promise<void>(resolve => server.tryShutdown(() => resolve())),
        edge.close(),
      ]);
      for (const hook of [...opts.onStop].reverse()) {
        try {
          await hook();
        } catch (err) {
          log.error('shutdown hook failed', {}, err);
        }
      }
      clearTimeout(force);
      log.lifecycle('stopped');
    })());

  if (opts.handleSignals ?? true) {
    const onSignal = (signal: string) => {
      log.info('signal received', {signal});
      stop().then(
        () => process.exit(0),
        err => {
          log.error('shutdown failed', {}, err);
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  }
  return {
    grpcPort,
    httpPort: (edge.server.address() as AddressInfo).port,
    stop,
  };
}

/** Logs failed calls: server faults as errors (with the cause), the rest at debug. */
function logObserver(log: Logger): CallObserver {
  return {
    onCallEnd(
      service: DescService,
      method: DescMethod,
      durationMs: number,
      error: ConnectError | undefined,
    ) {
      if (!error) {
        log.debug('call', {
          rpc: `${service.name}.${method.name}`,
          ms: round(durationMs),
        });
        return;
      }
      const fields = {
        rpc: `${service.name}.${method.name}`,
        code: error.code,
        ms: round(durationMs),
      };
      if (isServerFault(error.code)) {
        log.error(
          `call failed: ${error.rawMessage}`,
          fields,
          error.cause ?? error,
        );
      } else if (
        error.code === Code.Unavailable ||
        error.code === Code.DeadlineExceeded
      ) {
        // An outage or an expired time bound: worth seeing, with its real cause.
        const cause = error.cause;
        log.warn(`call failed: ${error.rawMessage}`, {
          ...fields,
          reason: cause instanceof Error ? cause.message : undefined,
        });
      } else {
        log.debug(`call rejected: ${error.rawMessage}`, fields);
      }
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
