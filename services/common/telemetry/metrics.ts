/**
 * Prometheus metrics of a service process, served on its HTTP port at /metrics.
 *
 * Every service gets RPC counts and latency by method and status code (from the call
 * observer both transports report to), the outbox lag, and Node's process metrics (RSS,
 * CPU, event-loop lag). Services add their own gauges, computed at scrape time from
 * PostgreSQL so they can never drift from the truth.
 */
import {Code} from '@connectrpc/connect';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
} from 'prom-client';
import type {CallObserver} from '../rpc/grpc_adapter.js';

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly calls: Counter<'method' | 'code'>;
  private readonly latency: Histogram<'method' | 'code'>;

  constructor(service: string) {
    this.registry.setDefaultLabels({service});
    collectDefaultMetrics({register: this.registry, prefix: 'agora_'});
    this.calls = new Counter({
      name: 'agora_rpc_requests_total',
      help: 'RPCs handled, by method and gRPC status code',
      labelNames: ['method', 'code'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'agora_rpc_duration_seconds',
      help: 'RPC handling time, by method and gRPC status code',
      labelNames: ['method', 'code'],
      // Sub-millisecond to seconds: local calls take ~1 ms, a saga tens of ms.
      buckets: [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
        5,
      ],
      registers: [this.registry],
    });
  }

  /** Observes every finished call (wire it into the service host). */
  observer(): CallObserver {
    return {
      onCallEnd: (_service, method, durationMs, error) => {
        const labels = {
          method: method.name,
          code: error ? Code[error.code] : 'OK',
        };
        this.calls.inc(labels);
        this.latency.observe(labels, durationMs / 1000);
      },
    };
  }

  /** A counter owned by the service (e.g. orders by outcome). */
  counter<L extends string>(
    name: string,
    help: string,
    labelNames: L[],
  ): Counter<L> {
    return new Counter({name, help, labelNames, registers: [this.registry]});
  }

  /**
   * A gauge whose values are read when Prometheus scrapes: `read` returns the current
   * value of every label set.
   */
  gaugeFrom<L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    read: () => Promise<Array<{labels: Record<L, string>; value: number}>>,
  ): void {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const {labels, value} of await read())
          this.set(labels as never, value);
      },
    });
  }

  /** The text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
