/**
 * Loaded before the application with `node --import <this file> main.js`, so the
 * OpenTelemetry instrumentations hook @grpc/grpc-js, pg and ioredis before any service
 * code imports them (ESM needs the import-in-the-middle loader hook registered first).
 *
 * AGORA_TRACING=off skips it all (benchmarks measure with and without).
 */
import {register} from 'node:module';

// On when asked for, or when an OTLP endpoint is configured (npm start sets one when
// Jaeger runs; docker-compose sets one); otherwise exporting to nowhere would cost CPU.
const tracing =
  process.env.AGORA_TRACING === 'on' ||
  (process.env.AGORA_TRACING !== 'off' &&
    !!process.env.OTEL_EXPORTER_OTLP_ENDPOINT);
if (tracing) {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const {startTracing} = await import('./tracing.js');
  startTracing();
}
