/**
 * The tracing SDK of a service process: spans for every gRPC call (server and client),
 * every PostgreSQL query and every Redis command made while serving a call, exported as
 * OTLP over HTTP (protobuf) to OTEL_EXPORTER_OTLP_ENDPOINT (default Jaeger on
 * http://127.0.0.1:4318).
 */
import {OTLPTraceExporter} from '@opentelemetry/exporter-trace-otlp-proto';
import {GrpcInstrumentation} from '@opentelemetry/instrumentation-grpc';
import {IORedisInstrumentation} from '@opentelemetry/instrumentation-ioredis';
import {PgInstrumentation} from '@opentelemetry/instrumentation-pg';
import {envDetector} from '@opentelemetry/resources';
import {NodeSDK} from '@opentelemetry/sdk-node';
import {BatchSpanProcessor} from '@opentelemetry/sdk-trace';

/** agora-<service>, from OTEL_SERVICE_NAME or the entry point's path. */
function serviceName(): string {
  if (process.env.OTEL_SERVICE_NAME) return process.env.OTEL_SERVICE_NAME;
  const match = /services\/([a-z]+)\/src\/main\.js$/.exec(
    process.argv[1] ?? '',
  );
  return match ? `agora-${match[1]}` : 'agora';
}

export function startTracing(): void {
  const endpoint = (
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://127.0.0.1:4318'
  ).replace(/\/$/, '');
  const sdk = new NodeSDK({
    serviceName: serviceName(),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({url: `${endpoint}/v1/traces`}),
        scheduledDelayMillis: 500,
      }),
    ],
    instrumentations: [
      new GrpcInstrumentation(),
      // Only inside a traced call: background work (outbox relay, sweepers, the Redis
      // resync) would otherwise produce a root trace per poll.
      new PgInstrumentation({requireParentSpan: true}),
      new IORedisInstrumentation({requireParentSpan: true}),
    ],
    // OTEL_RESOURCE_ATTRIBUTES (e.g. service.instance.id=order-a) tells replicas apart;
    // the host and process detectors would only add start-up time.
    resourceDetectors: [envDetector],
  });
  sdk.start();
  // The service host flushes on shutdown through the global provider (trace_context.ts).
}
