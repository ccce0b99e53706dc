/**
 * Loaded before the application with `node --import <this file> main.js`, so the
 * OpenTelemetry instrumentations hook @grpc/grpc-js, pg and ioredis before any service
 * code imports them (ESM needs the import-in-the-middle loader hook registered first).
 *
 * AGORA_TRACING=off skips it all (benchmarks measure with and without).
 */
import {register} from 'node:module';

if (process.env.AGORA_TRACING !== 'off') {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const {startTracing} = await import('./tracing.js');
  startTracing();
}
