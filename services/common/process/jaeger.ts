/**
 * Jaeger (v2, all-in-one, in-memory) for local runs and the tracing test. It is built
 * from the Go module proxy by deploy/tools/build-tools.sh into the tools cache; this
 * only starts it, or reuses one that already answers.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {existsSync} from 'node:fs';
import {homedir} from 'node:os';
import {join} from 'node:path';

export const JAEGER_QUERY = 'http://127.0.0.1:16686';
export const JAEGER_OTLP_HTTP = 'http://127.0.0.1:4318';
const JAEGER_HEALTH = 'http://127.0.0.1:13133/status';

/** Where build-tools.sh puts the binary. */
export function jaegerBinary(): string {
  const tools =
    process.env.AGORA_TOOLS_DIR ?? join(homedir(), '.cache', 'agora', 'tools');
  return join(tools, 'bin', 'jaeger');
}

async function healthy(): Promise<boolean> {
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
  if (await healthy()) return {started: false, stop: async () => {}};
  const binary = jaegerBinary();
  if (!existsSync(binary)) {
    throw new Error(`Jaeger is not built (${binary}); run: npm run tools`);
  }
  const child: ChildProcess = spawn(binary, [], {
    stdio: 'ignore',
    env: {...process.env, JAEGER_LISTEN_HOST: '127.0.0.1'},
  });
  const deadline = Date.now() + 30_000;
  while (!(await healthy())) {
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

/** One trace from Jaeger's HTTP API, or undefined while it is not stored yet. */
export async function jaegerTrace(traceId: string): Promise<
  | {
      spans: Array<{
        operationName: string;
        processID: string;
        references: unknown[];
      }>;
      processes: Record<string, {serviceName: string}>;
    }
  | undefined
> {
  const res = await fetch(`${JAEGER_QUERY}/api/traces/${traceId}`);
  if (!res.ok) return undefined;
  const body = (await res.json()) as {
    data?: Array<{spans: never[]; processes: never}>;
  };
  return body.data?.[0];
}
