/**
 * Where `npm start` sends traces. Jaeger runs when it is built; when it is not (a fresh
 * machine), the services still start at once with tracing on, Jaeger is built in the
 * background with its progress in the start output, and traces reach it from the moment
 * it runs (until then the services' exporters drop them). Without Go it cannot be built:
 * tracing stays off and the output says what to install.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {createInterface} from 'node:readline';
import {
  BUILD_TOOLS,
  ensureJaeger,
  jaegerBuildState,
  jaegerHealthy,
  JAEGER_QUERY,
  type RunningJaeger,
} from '../../services/common/process/jaeger.js';

export class LocalTracing {
  jaeger: RunningJaeger | undefined;
  private build: ChildProcess | undefined;
  private stopped = false;
  readonly on: boolean;
  private readonly needsBuild: boolean;
  readonly state: string;

  private constructor(on: boolean, needsBuild: boolean, state: string) {
    this.on = on;
    this.needsBuild = needsBuild;
    this.state = state;
  }

  static async prepare(): Promise<LocalTracing> {
    if (process.env.AGORA_TRACING === 'off')
      return new LocalTracing(false, false, 'off (AGORA_TRACING=off)');
    const build = jaegerBuildState();
    // One already running (started by another command) serves as well as ours.
    if (build.kind !== 'built' && (await jaegerHealthy())) {
      const t = new LocalTracing(true, false, '');
      t.jaeger = await ensureJaeger();
      return t;
    }
    if (build.kind === 'cannot-build') {
      return new LocalTracing(
        false,
        false,
        `off: Jaeger is not built and cannot be: ${build.reason}`,
      );
    }
    if (build.kind === 'needs-build') {
      return new LocalTracing(
        true,
        true,
        'Jaeger is being built in the background (first run on this machine); ' +
          'traces flow once it runs (progress lines below)',
      );
    }
    const t = new LocalTracing(true, false, '');
    t.jaeger = await ensureJaeger();
    return t;
  }

  get summary(): string {
    return this.jaeger
      ? `Jaeger ${JAEGER_QUERY} (read one: npm run trace -- ORDER_ID; this build's own UI is a placeholder page)`
      : this.state;
  }

  /** Builds Jaeger in the background (when needed), then starts it. */
  buildInBackground(): void {
    if (!this.needsBuild) return;
    const started = Date.now();
    // Its own process group, so Ctrl-C during the build stops go and its compilers too.
    const child = spawn('bash', [BUILD_TOOLS, 'jaeger'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.build = child;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({input: stream}).on('line', line =>
        console.log(`agora: tracing: ${line}`),
      );
    }
    child.once('exit', code => {
      this.build = undefined;
      if (this.stopped) return;
      if (code !== 0) {
        console.log(
          `agora: tracing off: the Jaeger build failed (exit ${code}); the services keep serving`,
        );
        return;
      }
      ensureJaeger().then(
        jaeger => {
          this.jaeger = jaeger;
          if (this.stopped) return void jaeger.stop();
          const s = Math.round((Date.now() - started) / 1000);
          console.log(
            `agora: tracing on: Jaeger built in ${s}s and running; traces of calls from now on are at ${JAEGER_QUERY} (npm run trace -- ORDER_ID)`,
          );
        },
        (err: unknown) =>
          console.log(
            `agora: tracing off: Jaeger did not start: ${err instanceof Error ? err.message : String(err)}`,
          ),
      );
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.build?.pid) process.kill(-this.build.pid, 'SIGTERM');
    if (this.jaeger?.started) await this.jaeger.stop();
  }
}
