/**
 * What the rest of the code needs from tracing, through the OpenTelemetry API only (a
 * no-op when the SDK was not loaded): the current trace id for log lines, and a flush at
 * shutdown so the last spans are not lost.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  trace,
  type Context,
} from '@opentelemetry/api';
import type {LogFields} from '../log/logger.js';

/** `{traceId}` of the call being served, for every log line written inside it. */
export function traceFields(): LogFields | undefined {
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const {traceId, traceFlags} = span.spanContext();
  return traceFlags & 1 ? {traceId} : undefined;
}

/**
 * The span attribute naming the order a call is about: `npm run trace -- ORDER_ID` finds
 * an order's traces by it (Jaeger's tag search).
 */
export const ORDER_ID_ATTRIBUTE = 'agora.order_id';

/** Adds attributes to the span of the call being served (no-op without tracing). */
export function annotateCall(attributes: Record<string, string>): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** Exports the spans still buffered (no-op without the SDK). */
export async function flushTraces(): Promise<void> {
  const provider = trace.getTracerProvider() as {
    getDelegate?: () => {
      forceFlush?: () => Promise<void>;
      shutdown?: () => Promise<void>;
    };
  };
  const delegate = provider.getDelegate?.();
  // Bounded: with the collector unreachable the exporter would retry for many seconds,
  // holding up a rolling restart for spans nobody can receive.
  await Promise.race([
    delegate?.shutdown?.().catch(() => undefined),
    new Promise(resolve => setTimeout(resolve, 2000).unref()),
  ]);
}

/**
 * Runs `fn` outside the current trace. Background work started from inside a call (the
 * outbox relay nudged after a commit) belongs to no caller's trace.
 */
export function detached<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, fn);
}

/** W3C trace context as it is stored with an outbox row and sent in message headers. */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/**
 * The trace context of the code running now (empty without tracing, or outside any
 * span): an event written here carries it, so its consumers join this trace.
 */
export function currentTraceCarrier(): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** The context a stored or received carrier stands for (the root when it is empty). */
export function contextFromCarrier(carrier: TraceCarrier): Context {
  if (!carrier.traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier);
}
