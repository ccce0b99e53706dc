/**
 * `npm run deploy:rolling`: restarts every replica of every service started by
 * `npm run start:replicas`, one at a time, without failing a call.
 *
 * It builds nothing: it starts whatever `dist/` holds now (the npm script runs
 * `npm run build` first, so "deploy" means "run the code as it is in the tree").
 *
 * For each replica, in turn:
 *   1. wait until HAProxy sees the service's other replicas UP (the previous step's new
 *      replica included), so the calls have somewhere to go;
 *   2. SIGTERM the old process and wait for its exit: it answers NOT_SERVING, HAProxy's
 *      next check (every 250 ms, fall 1) takes it out, and after AGORA_DRAIN_MS it stops
 *      accepting and finishes its in-flight calls (a CreateOrder mid-saga included);
 *   3. start the new process on the same ports, with the environment recorded in
 *      `.agora/replicas.json`;
 *   4. wait until it answers SERVING on its own gRPC port (presenting the client
 *      certificate when the replicas run mutual TLS), then until HAProxy reports it UP
 *      (two good checks) on its admin socket.
 * The state file gets the new pid as soon as the process exists, so a Ctrl-C of the
 * launcher at any moment still stops it; the replica is marked `restarting` meanwhile,
 * so the launcher does not report the old one's exit as a failure.
 *
 * Services go leaves first, Order last: a new Order may call something only the new
 * Pricing, Inventory or Payment knows, never the other way round.
 */
import {openSync, closeSync, readFileSync, rmSync, writeSync} from 'node:fs';
import {join} from 'node:path';
import {recoveryCounters, waitServersUp} from '../haproxy/haproxy_admin.js';
import {isHaproxyProcess} from '../haproxy/haproxy_process.js';
import type {TlsFiles} from '../../services/common/auth/dev_ca.js';
import type {ServiceName} from '../../services/common/config/service_config.js';
import {
  isServiceProcess,
  spawnDetachedService,
  stopServicePid,
  waitReplicaServing,
} from '../../services/common/process/replica_process.js';
import {
  findReplica,
  readState,
  replicaProcessEnv,
  stateDir,
  stateFile,
  toolTlsFiles,
  updateState,
  type ReplicaState,
} from './replica_layout.js';

const PREFIX = 'deploy:';
const RESTART_ORDER: ServiceName[] = [
  'pricing',
  'inventory',
  'payment',
  'report',
  'order',
];

/** Longest wait for the other replicas to be UP before taking one out. */
const OTHERS_UP_TIMEOUT_MS = 30_000;
/** drain (1 s by default) + in-flight calls (force-closed by the service after 10 s). */
const STOP_GRACE_MS = 20_000;
const START_TIMEOUT_MS = 60_000;
/** rise 2 × inter 250 ms is 0.5 s; the margin covers a slow check on a busy machine. */
const UP_TIMEOUT_MS = 15_000;

let interrupted = false;

async function main(): Promise<void> {
  const dir = stateDir();
  const state = readState(dir);
  if (!state) {
    throw new Error(
      `no replica set to deploy to (${stateFile(dir)} is missing): start one with npm run start:replicas`,
    );
  }
  if (!state.ready) {
    throw new Error('the replica set is still starting; try again when it is');
  }
  if (!isHaproxyProcess(state.haproxy.pid, state.haproxy.config)) {
    throw new Error(
      `haproxy (pid ${state.haproxy.pid}) is not running; restart the replica set`,
    );
  }
  // The replicas' shared environment decides whether they serve mutual TLS; read before
  // the first replica stops, so a missing certificate file stops nothing.
  const tls = toolTlsFiles(state.env);
  const releaseLock = lock(dir);
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.log(
      `\n${PREFIX} SIGINT: finishing the replica being restarted, then stopping (again to quit now)`,
    );
  });
  const started = Date.now();
  const countersBefore = await recoveryCounters(state.haproxy.statsSocket);
  let restarted = 0;
  try {
    for (const name of RESTART_ORDER) {
      for (const {server} of state.services[name].replicas) {
        if (interrupted) {
          console.log(
            `${PREFIX} stopped after ${restarted} replicas; the rest run the old code`,
          );
          process.exitCode = 130;
          return;
        }
        await restartReplica(dir, name, server, tls);
        restarted++;
      }
    }
  } finally {
    releaseLock();
  }
  const after = await recoveryCounters(state.haproxy.statsSocket);
  console.log(
    `${PREFIX} restarted all ${restarted} replicas in ${seconds(Date.now() - started)} s; ` +
      `meanwhile HAProxy retried ${after.retries - countersBefore.retries} requests ` +
      `(${after.redispatches - countersBefore.redispatches} on another replica) and ` +
      `counted ${after.errors - countersBefore.errors} connection or response errors`,
  );
}

async function restartReplica(
  dir: string,
  name: ServiceName,
  server: string,
  tls: TlsFiles | undefined,
): Promise<void> {
  const state = readState(dir) as ReplicaState;
  const socket = state.haproxy.statsSocket;
  const others = state.services[name].replicas.filter(r => r.server !== server);
  if (others.length === 0) {
    console.warn(
      `${PREFIX} ${server} is the only ${name} replica: calls to ${name} fail while it restarts`,
    );
  } else {
    await waitServersUp(
      socket,
      others.map(r => ({backend: name, server: r.server})),
      OTHERS_UP_TIMEOUT_MS,
    );
  }

  const t0 = Date.now();
  const old = updateState(dir, s => {
    findReplica(s, name, server).restarting = true;
  });
  const record = findReplica(old, name, server);
  const oldPid = record.pid;
  const wasRunning = isServiceProcess(oldPid, name);
  if (await stopServicePid(oldPid, name, STOP_GRACE_MS)) {
    console.warn(
      `${PREFIX} ${server} (pid ${oldPid}) did not stop within ${STOP_GRACE_MS} ms; killed it`,
    );
  }
  const tStopped = Date.now();

  const pid = spawnDetachedService(
    name,
    replicaProcessEnv(old, record),
    record.log,
    old.node,
  );
  updateState(dir, s => {
    const r = findReplica(s, name, server);
    r.pid = pid;
    r.generation += 1;
    r.startedAt = new Date().toISOString();
  });
  try {
    await waitReplicaServing(
      pid,
      name,
      `${old.host}:${record.grpcPort}`,
      record.log,
      START_TIMEOUT_MS,
      tls,
    );
    const tServing = Date.now();
    await waitServersUp(socket, [{backend: name, server}], UP_TIMEOUT_MS);
    const tUp = Date.now();
    console.log(
      `${PREFIX} ${server.padEnd(11)} pid ${oldPid} → ${pid}: ` +
        (wasRunning
          ? `drained and stopped in ${seconds(tStopped - t0)} s, `
          : 'was not running, ') +
        `SERVING after ${seconds(tServing - tStopped)} s, UP in HAProxy after ${seconds(tUp - tServing)} s more`,
    );
  } finally {
    // Done, or failed: either way the launcher should again report this pid if it dies.
    updateState(dir, s => {
      findReplica(s, name, server).restarting = false;
    });
  }
}

/** One rolling deploy at a time; a lock left by a deploy that died is taken over. */
function lock(dir: string): () => void {
  const file = join(dir, 'rolling_deploy.lock');
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, {force: true});
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(file, 'utf8'));
      if (isDeploy(holder)) {
        throw new Error(`another rolling deploy (pid ${holder}) is running`);
      }
      rmSync(file, {force: true});
    }
  }
}

function isDeploy(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some(a => a.endsWith(join('local', 'rolling_deploy.js')));
  } catch {
    return false;
  }
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

main().catch(err => {
  console.error(
    `${PREFIX} failed: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});
