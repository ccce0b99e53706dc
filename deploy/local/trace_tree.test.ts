import type {JaegerSpan} from '../../services/common/process/jaeger.js';
import {formatTraceTree, spanError} from './trace_tree.js';

function span(
  id: string,
  parent: string | undefined,
  start: number,
  duration: number,
  op: string,
  process = 'p1',
  tags: JaegerSpan['tags'] = [],
): JaegerSpan {
  return {
    traceID: 't1',
    spanID: id,
    operationName: op,
    processID: process,
    references: parent
      ? [{refType: 'CHILD_OF', traceID: 't1', spanID: parent}]
      : [],
    startTime: start,
    duration,
    tags,
  };
}

describe('formatTraceTree()', () => {
  const processes = {
    p1: {serviceName: 'agora-order'},
    p2: {serviceName: 'agora-payment'},
  };

  it('draws children under their parent in start order, with offsets and durations', () => {
    const text = formatTraceTree({
      traceID: 't1',
      processes,
      spans: [
        span('c', 'a', 1_500, 500, 'second child'),
        span('a', undefined, 1_000, 10_000, 'root'),
        span('b', 'a', 1_200, 200, 'first child'),
        span('d', 'c', 1_600, 100, 'grandchild', 'p2'),
      ],
    });
    expect(text.split('\n')).toEqual([
      'trace t1: 4 spans in 2 services (agora-order, agora-payment), 10.0 ms',
      '    offset    duration  service           operation',
      '    0.0 ms     10.0 ms  agora-order       root',
      '    0.2 ms      0.2 ms  agora-order       ├─ first child',
      '    0.5 ms      0.5 ms  agora-order       └─ second child',
      '    0.6 ms      0.1 ms  agora-payment        └─ grandchild',
    ]);
  });

  it('marks failed spans and counts them in the heading', () => {
    const text = formatTraceTree({
      traceID: 't1',
      processes,
      spans: [
        span('a', undefined, 0, 1_000, 'root'),
        span('b', 'a', 100, 100, 'charge', 'p2', [
          {key: 'rpc.grpc.status_code', type: 'int64', value: 14},
          {key: 'otel.status_description', type: 'string', value: 'down'},
        ]),
      ],
    });
    expect(text).toContain('1 with errors');
    expect(text).toContain('└─ charge  ✗ ERROR gRPC code 14: down');
  });

  it('keeps spans whose parent has not arrived, at the top level', () => {
    const text = formatTraceTree({
      traceID: 't1',
      processes,
      spans: [
        span('a', undefined, 0, 1_000, 'root'),
        span('x', 'missing', 300, 100, 'orphan'),
      ],
    });
    expect(text).toMatch(/agora-order {7}orphan$/m);
  });
});

describe('spanError()', () => {
  it('is undefined for a span with gRPC status 0 and no error tag', () => {
    expect(
      spanError(
        span('a', undefined, 0, 1, 'ok', 'p1', [
          {key: 'rpc.grpc.status_code', type: 'int64', value: 0},
        ]),
      ),
    ).toBeUndefined();
  });

  it('names the OTel error status', () => {
    expect(
      spanError(
        span('a', undefined, 0, 1, 'bad', 'p1', [
          {key: 'otel.status_code', type: 'string', value: 'ERROR'},
          {key: 'otel.status_description', type: 'string', value: 'boom'},
        ]),
      ),
    ).toBe('boom');
  });
});
