/**
 * `npm run start:replicas`: the system as N replicas of every service behind HAProxy,
 * on the same ports as `npm start` (so clients, `buf curl` and `curl` work unchanged).
 *
 * What it does, in order: makes sure HAProxy is installed (ensure_haproxy.sh), writes
 * `.agora/haproxy/haproxy.cfg` and starts haproxy, starts every replica, waits until
 * each is SERVING on its own port and HAProxy sees it UP, then until every service
 * answers SERVING through the balancer, seeds the demo catalogue through the balancer,
 * and prints the layout. With AGORA_TLS=on the replicas serve mutual TLS (the local
 * development CA unless certificate files are named), HAProxy passes their gRPC
 * connections through as TCP, and every check and the seeding present the client
 * certificate. Ctrl-C stops Order's replicas first (they may be mid-saga and
 * still calling the others through HAProxy), then the other services, then haproxy.
 *
 * The launcher does not own the replicas: they run detached, and `.agora/replicas.json`
 * says which pid is which replica. That is what lets `npm run deploy:rolling` replace
 * them one by one while this keeps running; this only watches the state file and warns
 * about a replica that died outside a deploy (HAProxy routes around it meanwhile).
 */
import {spawnSync} from 'node:child_process';
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {waitServersUp} from '../haproxy/haproxy_admin.js';
import {renderHaproxyConfig} from '../haproxy/haproxy_config.js';
import {
  checkHaproxyConfig,
  isHaproxyProcess,
  spawnHaproxy,
  stopHaproxy,
  waitHaproxyReady,
} from '../haproxy/haproxy_process.js';
import type {TlsFiles} from '../../services/common/auth/dev_ca.js';
import type {ServiceName} from '../../services/common/config/service_config.js';
import {
  isServiceProcess,
  spawnDetachedService,
  stopServicePid,
  waitReplicaServing,
} from '../../services/common/process/replica_process.js';
import {
  localDevIssuer,
  repoRoot,
  waitServing,
} from '../../services/common/process/service_process.js';
import {DEMO_SKUS, seedDemoCatalogue} from './demo_catalogue.js';
import {
  SERVICE_NAMES,
  frontendHttpPort,
  frontendPort,
  readReplicaSettings,
  readState,
  replicaEnv,
  replicaPorts,
  replicaProcessEnv,
  replicaTlsEnv,
  sharedServiceEnv,
  stateFile,
  toolTlsFiles,
  writeState,
  type ReplicaRecord,
  type ReplicaSettings,
  type ReplicaState,
  type ServiceRecord,
} from './replica_layout.js';

const PREFIX = 'agora:';

async function main(): Promise<void> {
  const settings = readReplicaSettings();
  const issuer = await localDevIssuer();
  const env = {...issuer.env, ...sharedServiceEnv(), ...replicaTlsEnv()};
  // Before anything starts: a TLS file that is neither named nor there fails here.
  const tls = toolTlsFiles(env);
  ensureHaproxy();
  await clearLeftovers(settings.stateDir);

  const haproxyDir = join(settings.stateDir, 'haproxy');
  const logDir = join(settings.stateDir, 'logs');
  mkdirSync(haproxyDir, {recursive: true});
  const config = join(haproxyDir, 'haproxy.cfg');
  const statsSocket = join(haproxyDir, 'admin.sock');
  const haproxyLog = join(logDir, 'haproxy.log');
  const services = layout(settings, logDir);
  writeFileSync(
    config,
    renderHaproxyConfig({
      host: settings.host,
      statsPort: settings.statsPort,
      statsSocket,
      mutualTls: tls !== undefined,
      services: SERVICE_NAMES.map(name => ({
        name,
        frontendPort: frontendPort(settings, name),
        httpFrontendPort: frontendHttpPort(settings, name),
        servers: services[name].replicas.map(r => ({
          name: r.server,
          grpcPort: r.grpcPort,
          httpPort: r.httpPort,
        })),
      })),
    }),
  );
  checkHaproxyConfig(config);

  console.log(
    `${PREFIX} starting HAProxy and ${settings.replicas} replicas of order, payment, inventory, pricing and report${tls ? ' (mutual TLS)' : ''}…`,
  );
  const state: ReplicaState = {
    version: 1,
    launcherPid: process.pid,
    startedAt: new Date().toISOString(),
    ready: false,
    host: settings.host,
    node: process.execPath,
    env,
    haproxy: {
      pid: 0,
      config,
      statsSocket,
      statsUrl: `http://${settings.host}:${settings.statsPort}/`,
      log: haproxyLog,
    },
    services,
  };
  // Every pid is written to the state file in the same synchronous step that spawned
  // it, so a Ctrl-C at any moment finds (and stops) everything started so far.
  installStopHandlers(settings.stateDir);
  state.haproxy.pid = spawnHaproxy(config, haproxyLog);
  writeState(settings.stateDir, state);
  await waitHaproxyReady(state.haproxy.pid, config, statsSocket, haproxyLog);

  // All at once: migrations are serialized across replicas by an advisory lock, and
  // Order needs its peers only when a call comes, which HAProxy holds until one is UP.
  try {
    for (const name of SERVICE_NAMES) {
      for (const r of services[name].replicas) {
        r.pid = spawnDetachedService(
          name,
          replicaProcessEnv(state, r),
          r.log,
          state.node,
        );
      }
    }
  } finally {
    writeState(settings.stateDir, state); // the ones that started, if one did not
  }
  await Promise.all(
    SERVICE_NAMES.flatMap(name =>
      services[name].replicas.map(r =>
        waitReplicaServing(
          r.pid,
          name,
          `${settings.host}:${r.grpcPort}`,
          r.log,
          60_000,
          tls,
        ),
      ),
    ),
  );
  await waitServersUp(
    statsSocket,
    SERVICE_NAMES.flatMap(name =>
      services[name].replicas.map(r => ({backend: name, server: r.server})),
    ),
    15_000,
  );
  await waitServing(
    SERVICE_NAMES.map(name => services[name].frontend),
    30_000,
    tls,
  );

  const seeded = await seedDemoCatalogue(
    services.pricing.frontend,
    services.inventory.frontend,
    await issuer.bearer({subject: 'demo-seeder', roles: ['admin']}),
    tls,
  );
  console.log(
    seeded
      ? `${PREFIX} seeded the demo catalogue`
      : `${PREFIX} catalogue already present; not seeding`,
  );
  state.ready = true;
  writeState(settings.stateDir, state);
  printLayout(settings, state, tls);
  watch(settings.stateDir);
}

function ensureHaproxy(): void {
  const script = join(repoRoot(), 'deploy', 'local', 'ensure_haproxy.sh');
  const result = spawnSync('bash', [script], {stdio: 'inherit'});
  if (result.status !== 0) {
    throw new Error('HAProxy is not available (see the message above)');
  }
}

/** The state file before any process started: ports, names, logs. */
function layout(
  settings: ReplicaSettings,
  logDir: string,
): Record<ServiceName, ServiceRecord> {
  const services = {} as Record<ServiceName, ServiceRecord>;
  for (const name of SERVICE_NAMES) {
    const replicas: ReplicaRecord[] = [];
    for (let replica = 1; replica <= settings.replicas; replica++) {
      const ports = replicaPorts(settings, name, replica);
      replicas.push({
        server: `${name}-${replica}`,
        replica,
        pid: 0,
        ...ports,
        env: replicaEnv(settings, name, ports),
        log: join(logDir, `${name}-${replica}.log`),
        startedAt: new Date().toISOString(),
        generation: 0,
        restarting: false,
      });
    }
    services[name] = {
      frontend: `${settings.host}:${frontendPort(settings, name)}`,
      httpFrontend: `${settings.host}:${frontendHttpPort(settings, name)}`,
      backend: name,
      replicas,
    };
  }
  return services;
}

/**
 * A previous launcher that still runs owns the ports: refuse. One that died (killed, or
 * its machine slept through a failure) may have left replicas and haproxy running
 * detached: stop those, so this start finds its ports free.
 */
async function clearLeftovers(dir: string): Promise<void> {
  const previous = readState(dir);
  if (!previous) return;
  if (isLauncher(previous.launcherPid)) {
    throw new Error(
      `a replica set is already running (launcher pid ${previous.launcherPid}, ${stateFile(dir)}); stop it with Ctrl-C first`,
    );
  }
  console.log(
    `${PREFIX} stopping what a previous launcher (pid ${previous.launcherPid}) left running…`,
  );
  await stopReplicaSet(dir);
}

function isLauncher(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some(a => a.endsWith(join('deploy', 'local', 'replicas.js')));
  } catch {
    return false;
  }
}

/**
 * Stops everything the state file lists, the state as it is now (a rolling deploy may
 * have replaced every pid the launcher started): Order's replicas first, because an
 * order mid-saga still calls the others through HAProxy while it drains; then the
 * other services; then haproxy. Removes the state file, so a rolling deploy started
 * afterwards finds nothing to restart.
 */
async function stopReplicaSet(dir: string): Promise<void> {
  const state = readState(dir);
  if (!state) return;
  const stop = (names: ServiceName[]) =>
    Promise.all(
      names.flatMap(name =>
        state.services[name].replicas.map(async r => {
          if (r.pid === 0) return;
          if (await stopServicePid(r.pid, name)) {
            console.error(
              `${PREFIX} ${r.server} (pid ${r.pid}) did not stop in time; killed it`,
            );
          }
        }),
      ),
    );
  await stop(['order']);
  await stop(SERVICE_NAMES.filter(n => n !== 'order'));
  if (state.haproxy.pid !== 0) {
    await stopHaproxy(state.haproxy.pid, state.haproxy.config);
  }
  rmSync(stateFile(dir), {force: true});
}

let stopping = false;

/** Set once stop handlers exist: stops what was started, then exits 1. */
let failAndStop: ((reason: string) => void) | undefined;

function installStopHandlers(dir: string): void {
  const stop = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    console.log(
      `\n${PREFIX} ${reason}: stopping every replica (draining in-flight calls), then HAProxy…`,
    );
    try {
      await stopReplicaSet(dir);
      console.log(`${PREFIX} stopped`);
    } catch (err) {
      console.error(`${PREFIX} stopping failed: ${message(err)}`);
      code = 1;
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  failAndStop = (reason: string) => void stop(reason, 1);
}

/**
 * Every second: a replica that died outside a rolling deploy is reported once (the
 * others keep serving); haproxy dying takes every frontend with it, so that stops all.
 */
function watch(dir: string): void {
  const reported = new Set<number>();
  setInterval(() => {
    if (stopping) return;
    let state: ReplicaState | undefined;
    try {
      state = readState(dir);
    } catch {
      return; // mid-write by the rolling deploy: look again next time
    }
    if (!state) {
      failAndStop?.(`${stateFile(dir)} was removed`);
      return;
    }
    if (!isHaproxyProcess(state.haproxy.pid, state.haproxy.config)) {
      console.error(
        `${PREFIX} haproxy (pid ${state.haproxy.pid}) exited; see ${state.haproxy.log}`,
      );
      failAndStop?.('HAProxy failure');
      return;
    }
    for (const name of SERVICE_NAMES) {
      for (const r of state.services[name].replicas) {
        if (r.restarting || reported.has(r.pid)) continue;
        if (!isServiceProcess(r.pid, name)) {
          reported.add(r.pid);
          console.error(
            `${PREFIX} ${r.server} (pid ${r.pid}) exited outside a rolling deploy; HAProxy sends its calls to the other replicas. See ${r.log}; \`npm run deploy:rolling\` starts it again.`,
          );
        }
      }
    }
  }, 1000);
}

function printLayout(
  settings: ReplicaSettings,
  state: ReplicaState,
  tls: TlsFiles | undefined,
): void {
  const total = SERVICE_NAMES.length * settings.replicas;
  console.log(
    `\n${PREFIX} all ${total} replicas are SERVING behind HAProxy (grpc.health.v1 through the balancer${tls ? ', mutual TLS passed through' : ''})\n`,
  );
  console.log(
    '  service     gRPC frontend     HTTP frontend     replicas (gRPC/HTTP port, pid)',
  );
  for (const name of SERVICE_NAMES) {
    const s = state.services[name];
    const replicas = s.replicas
      .map(r => `${r.server} ${r.grpcPort}/${r.httpPort} pid ${r.pid}`)
      .join(', ');
    console.log(
      `  ${name.padEnd(10)}  ${s.frontend.padEnd(16)}  ${s.httpFrontend.padEnd(16)}  ${replicas}`,
    );
  }
  const sku = DEMO_SKUS[0].sku;
  console.log(`
  HAProxy:   stats ${state.haproxy.statsUrl} (CSV: ${state.haproxy.statsUrl};csv), admin socket ${state.haproxy.statsSocket}
             config ${state.haproxy.config}, log ${state.haproxy.log}
  state:     ${stateFile(settings.stateDir)}
  logs:      ${join(settings.stateDir, 'logs')}/<service>-<replica>.log

Place an order through the balancer (the same call as with npm start):

  npx buf curl --protocol grpc ${
    tls
      ? `--cacert ${tls.ca} --cert ${tls.cert} --key ${tls.key}`
      : '--http2-prior-knowledge'
  } \\
    -H "authorization: Bearer $(npm run --silent token -- --customer alice)" \\
    -d '{"request_id":"'$(cat /proc/sys/kernel/random/uuid)'","customer_id":"alice","currency_code":"USD","lines":[{"sku":"${sku}","quantity":2}],"payment_token":"tok_visa"}' \\
    ${tls ? 'https' : 'http'}://${state.services.order.frontend}/agora.order.v1.OrderService/CreateOrder

Restart every replica one at a time, without failing a call: npm run deploy:rolling
Ctrl-C stops everything.`);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

main().catch(err => {
  console.error(`${PREFIX} failed to start the replica set: ${message(err)}`);
  if (failAndStop) failAndStop('start failed');
  else process.exit(1);
});
