/**
 * One trace from Jaeger's HTTP API as a tree of spans in plain text: service, operation,
 * duration and offset from the trace's start, errors marked. `npm run trace` prints it;
 * this build of Jaeger has no UI (its :16686 page is a placeholder).
 */
import type {
  JaegerSpan,
  JaegerTrace,
} from '../../services/common/process/jaeger.js';

/** Why a span failed, or undefined when it did not (OTel status, then gRPC status). */
export function spanError(span: JaegerSpan): string | undefined {
  const tag = (key: string) => span.tags.find(t => t.key === key)?.value;
  const grpcCode = tag('rpc.grpc.status_code');
  const failed =
    tag('error') === true ||
    tag('otel.status_code') === 'ERROR' ||
    (grpcCode !== undefined && Number(grpcCode) !== 0);
  if (!failed) return undefined;
  const description = tag('otel.status_description');
  const grpc =
    grpcCode !== undefined && Number(grpcCode) !== 0
      ? `gRPC code ${String(grpcCode)}`
      : undefined;
  return [grpc, description ? String(description) : undefined]
    .filter(Boolean)
    .join(': ');
}

const ms = (micros: number) => `${(micros / 1000).toFixed(1)} ms`;

/** The tree, one line per span, children under their parent in start order. */
export function formatTraceTree(trace: JaegerTrace): string {
  const spans = [...trace.spans].sort((a, b) => a.startTime - b.startTime);
  const ids = new Set(spans.map(s => s.spanID));
  const parentOf = (s: JaegerSpan) =>
    s.references.find(r => r.refType === 'CHILD_OF' && ids.has(r.spanID))
      ?.spanID;
  const children = new Map<string | undefined, JaegerSpan[]>();
  for (const s of spans) {
    const parent = parentOf(s);
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const start = spans[0]?.startTime ?? 0;
  const end = Math.max(...spans.map(s => s.startTime + s.duration));
  const service = (s: JaegerSpan) =>
    trace.processes[s.processID]?.serviceName ?? s.processID;
  const roots = children.get(undefined) ?? [];
  const services = new Set(spans.map(service));
  const errors = spans.filter(s => spanError(s) !== undefined).length;

  const lines = [
    `trace ${trace.traceID}: ${spans.length} spans in ${services.size} services ` +
      `(${[...services].sort().join(', ')}), ${ms(end - start)}` +
      (errors ? `, ${errors} with errors` : ''),
    `${'offset'.padStart(10)}  ${'duration'.padStart(10)}  ${'service'.padEnd(16)}  operation`,
  ];
  const walk = (s: JaegerSpan, prefix: string, last: boolean, top: boolean) => {
    const branch = top ? '' : last ? '└─ ' : '├─ ';
    const error = spanError(s);
    lines.push(
      `${ms(s.startTime - start).padStart(10)}  ${ms(s.duration).padStart(10)}  ` +
        `${service(s).padEnd(16)}  ${prefix}${branch}${s.operationName}` +
        (error !== undefined ? `  ✗ ERROR ${error}`.trimEnd() : ''),
    );
    const kids = children.get(s.spanID) ?? [];
    const childPrefix = top ? prefix : prefix + (last ? '   ' : '│  ');
    kids.forEach((k, i) => walk(k, childPrefix, i === kids.length - 1, false));
  };
  // More than one root means some parents have not reached Jaeger (yet): each orphan
  // subtree is printed at the top level rather than dropped.
  for (const r of roots) walk(r, '', true, true);
  return lines.join('\n');
}
