/**
 * The replica system (deploy/local/replicas.ts: N replicas per service behind HAProxy) run
 * as a child process with its own ports and state directory, for benchmarks; and the
 * rolling deploy run against it.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {join} from 'node:path';
import {EnvReader} from '../../services/common/config/env.js';
import type {ServiceName} from '../../services/common/config/service_config.js';
import {repoRoot} from '../../services/common/process/service_process.js';
import {
  frontendPort,
  readReplicaSettings,
  readState,
  SERVICE_NAMES,
} from '../local/replica_layout.js';

export interface ReplicaSystem {
  /** host:port of each service's HAProxy frontend. */
  frontends: Record<ServiceName, string>;
  env: Record<string, string>;
  /** Pids of every replica and of HAProxy, read from the state file now. */
  pids(): {services: Record<string, number[]>; haproxy: number[]};
  stop(): Promise<void>;
}

/** Starts the replica system with `env` (ports, state dir, database, namespace). */
export async function startReplicaSystem(
  env: Record<string, string>,
): Promise<ReplicaSystem> {
  const settings = readReplicaSettings(new EnvReader({...process.env, ...env}));
  const launcher: ChildProcess = spawn(
    process.execPath,
    [join(repoRoot(), 'dist', 'deploy', 'local', 'replicas.js')],
    {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']},
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onOutput = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('replicas are SERVING behind HAProxy')) resolve();
    };
    launcher.stdout?.on('data', onOutput);
    launcher.stderr?.on('data', onOutput);
    launcher.once('exit', code =>
      reject(new Error(`replica launcher exited (${code}):\n${output}`)),
    );
  });
  const frontends = Object.fromEntries(
    SERVICE_NAMES.map(name => [
      name,
      `${settings.host}:${frontendPort(settings, name)}`,
    ]),
  ) as Record<ServiceName, string>;
  return {
    frontends,
    env,
    pids: () => {
      const state = readState(settings.stateDir);
      const services: Record<string, number[]> = {};
      for (const [name, record] of Object.entries(state?.services ?? {})) {
        services[name] = record.replicas.map(r => r.pid);
      }
      return {
        services,
        haproxy: state?.haproxy?.pid ? [state.haproxy.pid] : [],
      };
    },
    stop: () =>
      new Promise<void>(resolve => {
        if (launcher.exitCode !== null) return resolve();
        launcher.once('exit', () => resolve());
        launcher.kill('SIGINT'); // what Ctrl-C does: replicas drain, then HAProxy stops
      }),
  };
}

/** Runs the rolling deploy against the system; resolves with its exit code and output. */
export function rollingDeploy(
  env: Record<string, string>,
): Promise<{code: number | null; output: string}> {
  const child = spawn(
    process.execPath,
    [join(repoRoot(), 'dist', 'deploy', 'local', 'rolling_deploy.js')],
    {
      env: {...process.env, ...env},
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise(resolve =>
    child.once('close', code => resolve({code, output})),
  );
}
