/**
 * A TestSystem made of the replica set instead of one process per service: the launcher
 * of `npm run start:replicas` (deploy/local/replicas.ts: 2 replicas of every service
 * behind HAProxy, Order calling its peers through HAProxy too), run from dist/ as a
 * child process on ports, a state directory, a database and a namespace of its own.
 * The clients, and `mesh.processes`, point at HAProxy's frontends; nothing dials a
 * replica directly, so whatever a test proves, it proves through the balancer.
 *
 * With `mutualTls` the launcher gets AGORA_TLS=on and picks the local development CA
 * itself (as `AGORA_TLS=on npm run start:replicas` does); the clients present its client
 * certificate, which HAProxy passes through to the replica.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {createWriteStream, mkdirSync, readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
// Type only: services/ runs deploy/'s launcher as a program and reads its state file,
// but imports none of its code.
import type {ReplicaState} from '../../../deploy/local/replica_layout.js';
import {
  localDevCa,
  localDevIssuer,
  repoRoot,
} from '../process/service_process.js';
import {freshEnvironment} from './isolation.js';
import {connectTestSystem, type TestSystem} from './test_system.js';

/** Ports of a replica test system: see the port scheme in deploy/local/replica_layout.ts. */
export interface ReplicaPorts {
  /** Service k's gRPC frontend is this + k, its HTTP frontend that + 1000. */
  frontendPortBase: number;
  /** Replica r of service k listens on this + 100k + r (gRPC) and that + 1000 (HTTP). */
  replicaPortBase: number;
  statsPort: number;
}

export interface ReplicaTestOptions {
  ports: ReplicaPorts;
  /** Run the replicas' gRPC ports on mutual TLS, passed through by HAProxy. */
  mutualTls?: boolean;
  /** Replicas per service (default 2). */
  replicas?: number;
}

const SERVING = /replicas are SERVING behind HAProxy/;
const START_TIMEOUT_MS = 180_000;

/**
 * Drops and recreates the test database, clears the namespace, starts the replica set
 * and resolves once the launcher reports every replica SERVING through HAProxy.
 * stop() stops the launcher as Ctrl-C does (Order's replicas drain first, then the
 * others, then HAProxy) and waits for it to exit.
 */
export async function startReplicaTestSystem(
  name: string,
  env: Record<string, string>,
  options: ReplicaTestOptions,
): Promise<TestSystem> {
  const isolated = await freshEnvironment(
    `agora_test_${name.replace(/[^a-z0-9]/gi, '_')}`,
    `agoratest-${name}`,
  );
  const issuer = await localDevIssuer();
  const clientTls = options.mutualTls
    ? localDevCa().files('client')
    : undefined;
  const logDir = join(repoRoot(), '.agora', 'test-logs', name);
  const stateDir = join(repoRoot(), '.agora', `test-${name}`);
  const {ports} = options;
  // The launcher chooses the certificates (the development CA), not the caller's shell.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('AGORA_TLS')),
  );
  const launcher = await startLauncher(
    {
      ...inherited,
      ...isolated.env,
      AGORA_STATE_DIR: stateDir,
      AGORA_REPLICAS: String(options.replicas ?? 2),
      AGORA_FRONTEND_PORT_BASE: String(ports.frontendPortBase),
      AGORA_REPLICA_PORT_BASE: String(ports.replicaPortBase),
      AGORA_HAPROXY_STATS_PORT: String(ports.statsPort),
      AGORA_LOG_LEVEL: 'info',
      // Ten services share two CPUs here; tracing is tested elsewhere.
      AGORA_TRACING: 'off',
      AGORA_TLS: options.mutualTls ? 'on' : 'off',
      ...env,
    },
    join(logDir, 'launcher.log'),
  );
  try {
    const state = JSON.parse(
      readFileSync(join(stateDir, 'replicas.json'), 'utf8'),
    ) as ReplicaState;
    const addresses = Object.fromEntries(
      Object.entries(state.services).map(([service, s]) => [
        service,
        {grpcAddress: s.frontend, httpAddress: s.httpFrontend},
      ]),
    ) as TestSystem['mesh']['processes'];
    return await connectTestSystem({
      addresses,
      namespace: isolated.namespace,
      databaseUrl: isolated.databaseUrl,
      issuer,
      clientTls,
      stopServices: () => stopLauncher(launcher),
    });
  } catch (err) {
    await stopLauncher(launcher);
    throw err;
  }
}

/** The launcher, once it printed that every replica is SERVING; its output goes to `logFile`. */
export async function startLauncher(
  env: NodeJS.ProcessEnv,
  logFile: string,
): Promise<ChildProcess> {
  mkdirSync(dirname(logFile), {recursive: true});
  const log = createWriteStream(logFile, {flags: 'a'});
  const launcher = spawn(
    process.execPath,
    [join(repoRoot(), 'dist', 'deploy', 'local', 'replicas.js')],
    {env, stdio: ['ignore', 'pipe', 'pipe']},
  );
  launcher.once('close', () => log.end());
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `the replicas were not SERVING within ${START_TIMEOUT_MS / 1000} s (${logFile}):\n${output}`,
            ),
          ),
        START_TIMEOUT_MS,
      );
      const onOutput = (chunk: Buffer) => {
        log.write(chunk);
        if (SERVING.test(output)) return;
        output += chunk.toString();
        if (SERVING.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      launcher.stdout?.on('data', onOutput);
      launcher.stderr?.on('data', onOutput);
      launcher.once('exit', code => {
        clearTimeout(timer);
        reject(
          new Error(
            `the replica launcher exited (${code}) while starting (${logFile}):\n${output}`,
          ),
        );
      });
    });
  } catch (err) {
    await stopLauncher(launcher);
    throw err;
  }
  return launcher;
}

/** Stops the launcher as Ctrl-C does (it stops the replicas, then HAProxy); waits for its exit. */
export async function stopLauncher(launcher: ChildProcess): Promise<void> {
  if (launcher.exitCode !== null || launcher.signalCode !== null) return;
  const exited = new Promise(resolve => launcher.once('exit', resolve));
  launcher.kill('SIGINT');
  await exited;
}
