/**
 * The skeleton of every service's main(): read the shared config once, create the
 * logger, let the service build itself, host it, and exit non-zero with a clear message
 * when anything fails at start.
 */
import {readTlsConfig, type TlsMaterial} from '../auth/tls_config.js';
import {EnvReader} from '../config/env.js';
import {
  readServiceConfig,
  type ServiceConfig,
  type ServiceName,
} from '../config/service_config.js';
import {createLogger, type Logger} from '../log/logger.js';
import type {CallObserver} from '../rpc/grpc_adapter.js';
import {ServiceMetrics} from '../telemetry/metrics.js';
import {flushTraces, traceFields} from '../telemetry/trace_context.js';
import type {ServiceBinding} from '../rpc/http_edge.js';
import type {ReadinessCheck} from '../rpc/readiness.js';
import {hostService, type RunningService} from '../rpc/service_host.js';

/** What a service's composition root gets to build itself with. */
export interface BuildContext {
  config: ServiceConfig;
  /** Mutual TLS material when AGORA_TLS=on: clients of other services present it. */
  tls: TlsMaterial | undefined;
  env: EnvReader;
  log: Logger;
  /** Register cleanups here as resources are opened; they run in reverse at shutdown. */
  onStop: Array<() => Promise<void> | void>;
  /** The process's Prometheus registry (RPC metrics are already in it). */
  metrics: ServiceMetrics;
  /** Register what the process cannot serve without; health follows it (readiness.ts). */
  readiness: ReadinessCheck[];
}

export interface BuiltService {
  bindings: ServiceBinding[];
  observers?: CallObserver[];
}

/** Builds and hosts a service; the process exits 1 when that fails. */
export async function runService(
  name: ServiceName,
  build: (ctx: BuildContext) => Promise<BuiltService>,
): Promise<RunningService> {
  let log: Logger = createLogger(name);
  const onStop: BuildContext['onStop'] = [];
  try {
    const env = new EnvReader();
    const config = readServiceConfig(name, env);
    const tls = readTlsConfig(env, name);
    log = createLogger(name, config.logLevel, undefined, traceFields);
    // Registered first, so it runs last: spans of the final calls still get exported.
    onStop.push(() => flushTraces());
    const metrics = new ServiceMetrics(name);
    const readiness: ReadinessCheck[] = [];
    const built = await build({
      config,
      tls,
      env,
      log,
      onStop,
      metrics,
      readiness,
    });
    return await hostService({
      config,
      tls,
      log,
      bindings: built.bindings,
      observers: built.observers,
      metrics,
      onStop,
      readiness,
    });
  } catch (err) {
    log.error(
      `${name} failed to start: ${err instanceof Error ? err.message : String(err)}`,
      {},
      err,
    );
    for (const hook of onStop.reverse())
      await Promise.resolve(hook()).catch(() => undefined);
    process.exit(1);
  }
}
