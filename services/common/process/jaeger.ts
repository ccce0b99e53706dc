/**
 * Jaeger (v2, all-in-one, in-memory) for local runs and the tracing test. It is built
 * from the Go module proxy by deploy/tools/build-tools.sh into the tools cache; this
 * starts it (or reuses one that already answers) and reads traces from its HTTP API.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {existsSync} from 'node:fs';
import {homedir} from 'node:os';
import {join} from 'node:path';
import {ORDER_ID_ATTRIBUTE} from '../telemetry/trace_context.js';
import {repoRoot} from './service_process.js';

/** Jaeger's query API (AGORA_JAEGER_URL points elsewhere, e.g. a shared Jaeger). */
export const JAEGER_QUERY = (
  process.env.AGORA_JAEGER_URL ?? 'http://127.0.0.1:16686'
).replace(/\/$/, '');
export const JAEGER_OTLP_HTTP = 'http://127.0.0.1:4318';
const JAEGER_HEALTH = 'http://127.0.0.1:13133/status';

/** The tools script that builds Jaeger (and ghz), serialized by a lock of its own. */
export const BUILD_TOOLS = join(
  repoRoot(),
  'deploy',
  'tools',
  'build-tools.sh',
);

export type JaegerBuildState =
  | {kind: 'built'}
  | {kind: 'needs-build'}
  /** Not built, and it cannot be: `reason` names what to install. */
  | {kind: 'cannot-build'; reason: string};

/** Whether Jaeger is built at its pinned version, and if not, whether Go can build it. */
export function jaegerBuildState(): JaegerBuildState {
  const check = spawnSync('bash', [BUILD_TOOLS, '--check', 'jaeger'], {
    encoding: 'utf8',
  });
  if (check.status === 0) return {kind: 'built'};
  if (check.status === 3) return {kind: 'needs-build'};
  return {
    kind: 'cannot-build',
    reason: (check.stderr || check.error?.message || 'unknown').trim(),
  };
}

/** Where build-tools.sh puts the binary. */
export function jaegerBinary(): string {
  const tools =
    process.env.AGORA_TOOLS_DIR ?? join(homedir(), '.cache', 'agora', 'tools');
  return join(tools, 'bin', 'jaeger');
}

/** Whether a Jaeger answers on its health port. */
export async function jaegerHealthy(): Promise<boolean> {
  try {
    const res = await fetch(JAEGER_HEALTH, {signal: AbortSignal.timeout(1000)});
    return res.ok;
  } catch {
    return false;
  }
}

export interface RunningJaeger {
  /** False when an already running Jaeger was reused (then stop() leaves it alone). */
  started: boolean;
  stop(): Promise<void>;
}

/**
 * Starts Jaeger unless one is already up. Throws with the build command when the
 * binary is missing.
 */
export async function ensureJaeger(): Promise<RunningJaeger> {
  if (await jaegerHealthy()) return {started: false, stop: async () => {}};
  const binary = jaegerBinary();
  if (!existsSync(binary)) {
    throw new Error(
      `Jaeger is not built (${binary}): npm test builds it before the tests run; alone, run: npm run tools`,
    );
  }
  const child: ChildProcess = spawn(binary, [], {
    stdio: 'ignore',
    env: {...process.env, JAEGER_LISTEN_HOST: '127.0.0.1'},
  });
  const deadline = Date.now() + 30_000;
  while (!(await jaegerHealthy())) {
    if (child.exitCode !== null)
      throw new Error(`Jaeger exited with code ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('Jaeger did not become healthy within 30 s');
    }
    await new Promise(r => setTimeout(r, 200));
  }
  return {
    started: true,
    stop: () =>
      new Promise<void>(resolve => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A span as Jaeger's HTTP API returns it (times in microseconds). */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  references: Array<{refType: string; traceID: string; spanID: string}>;
  startTime: number;
  duration: number;
  tags: Array<{key: string; type: string; value: unknown}>;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, {serviceName: string}>;
}

/** One trace from Jaeger's HTTP API, or undefined while it is not stored yet. */
export async function jaegerTrace(
  traceId: string,
): Promise<JaegerTrace | undefined> {
  const res = await fetch(`${JAEGER_QUERY}/api/traces/${traceId}`);
  if (!res.ok) return undefined;
  const body = (await res.json()) as {data?: JaegerTrace[]};
  return body.data?.[0];
}

/**
 * The traces of Order calls about `orderId` (placing it, reading it, cancelling or
 * refunding it) from the last `lookbackHours`, oldest first.
 */
export async function jaegerTracesOfOrder(
  orderId: string,
  lookbackHours = 48,
): Promise<JaegerTrace[]> {
  const query = new URLSearchParams({
    service: 'agora-order',
    tag: `${ORDER_ID_ATTRIBUTE}:${orderId}`,
    start: String((Date.now() - lookbackHours * 3_600_000) * 1000),
    limit: '100',
  });
  const res = await fetch(`${JAEGER_QUERY}/api/traces?${query}`);
  if (!res.ok) {
    throw new Error(
      `Jaeger answered ${res.status} to a trace search: ${await res.text()}`,
    );
  }
  const body = (await res.json()) as {data?: JaegerTrace[] | null};
  const startOf = (t: JaegerTrace) =>
    Math.min(...t.spans.map(s => s.startTime));
  return (body.data ?? []).sort((a, b) => startOf(a) - startOf(b));
}
