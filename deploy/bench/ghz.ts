/**
 * Running ghz (built from the Go module proxy by deploy/tools/build-tools.sh) and reading
 * its JSON report. ghz exits 0 even when calls fail: callers read statusCodeDistribution.
 */
import {execFile} from 'node:child_process';
import {existsSync} from 'node:fs';
import {getPriority, homedir} from 'node:os';
import {join} from 'node:path';
import {promisify} from 'node:util';

const run = promisify(execFile);

export function ghzBinary(): string {
  const tools =
    process.env.AGORA_TOOLS_DIR ?? join(homedir(), '.cache', 'agora', 'tools');
  const binary = join(tools, 'bin', 'ghz');
  if (!existsSync(binary))
    throw new Error(`ghz is not built (${binary}); run: npm run tools`);
  return binary;
}

export interface GhzOptions {
  /** host:port of the gRPC server (reflection is used, no proto files). */
  target: string;
  /** Fully qualified method, e.g. agora.order.v1.OrderService/CreateOrder. */
  call: string;
  /** Request JSON; a Go template evaluated per request ({{newUUID}}, {{randomInt 0 10}}…). */
  data: string;
  concurrency: number;
  /** Run for this long ("10s") … */
  duration?: string;
  /** … or this many requests. */
  total?: number;
  /** HTTP/2 connections the workers share. */
  connections?: number;
  /** Cap on the request rate (0: as fast as possible). */
  rps?: number;
  /** Cores ghz may use: it shares the machine with the system under test. */
  cpus?: number;
  /** Per-call deadline (ghz's default is 20s). */
  timeout?: string;
  /** Sent with every call (an `authorization` bearer token). */
  metadata?: Record<string, string>;
  /** Mutual TLS: CA, client certificate and key files (else plaintext h2c). */
  tls?: {ca: string; cert: string; key: string};
  /**
   * ghz's niceness, when it must differ from this process's (bench:watchers runs its
   * watcher client at a lower priority, but not the order load it measures).
   */
  niceness?: number;
}

export interface GhzReport {
  count: number;
  /** Wall time of the run in nanoseconds. */
  total: number;
  rps: number;
  average: number;
  fastest: number;
  slowest: number;
  latencyDistribution: Array<{percentage: number; latency: number}> | null;
  statusCodeDistribution: Record<string, number>;
  errorDistribution: Record<string, number> | null;
}

export async function runGhz(o: GhzOptions): Promise<GhzReport> {
  const security = o.tls
    ? ['--cacert', o.tls.ca, '--cert', o.tls.cert, '--key', o.tls.key]
    : ['--insecure'];
  const args = [
    ...security,
    '--call',
    o.call,
    '-d',
    o.data,
    '-c',
    String(o.concurrency),
    '--connections',
    String(o.connections ?? Math.max(1, Math.ceil(o.concurrency / 100))),
    '--cpus',
    String(o.cpus ?? 1),
    '-O',
    'json',
  ];
  // "wait": calls still in flight when the duration ends finish and count; the default
  // ("close") cancels them and reports one Unavailable per worker.
  if (o.duration) args.push('-z', o.duration, '--duration-stop', 'wait');
  if (o.total) args.push('-n', String(o.total));
  if (o.rps) args.push('--rps', String(o.rps));
  if (o.timeout) args.push('--timeout', o.timeout);
  if (o.metadata) args.push('--metadata', JSON.stringify(o.metadata));
  args.push(o.target);
  const change = o.niceness === undefined ? 0 : o.niceness - getPriority();
  const [file, argv] =
    change === 0
      ? [ghzBinary(), args]
      : ['nice', ['-n', String(change), ghzBinary(), ...args]];
  const {stdout} = await run(file, argv, {maxBuffer: 64 * 1024 * 1024});
  return JSON.parse(stdout) as GhzReport;
}

/** A latency percentile in milliseconds (ghz reports nanoseconds; only OK calls count). */
export function percentileMs(r: GhzReport, p: number): number {
  const hit = r.latencyDistribution?.find(d => d.percentage === p);
  return hit ? hit.latency / 1e6 : NaN;
}
