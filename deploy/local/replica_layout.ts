/**
 * Where the replica set lives: its settings (from the environment), its port scheme and
 * its state file, `.agora/replicas.json`.
 *
 * The state file is the one place that knows which process is which replica. The
 * launcher writes it at start; the rolling deploy rewrites it after every step; the
 * launcher reads it again when it watches the replicas and when it stops them. Writes go
 * to a temporary file renamed over the old one, so a reader never sees half a file.
 *
 * Port scheme (all on 127.0.0.1), with k = 1..5 the service's position in SERVICE_PORTS
 * (order 1, payment 2, inventory 3, pricing 4, report 5, as the last digit of its
 * standard port) and r = 1..N the replica number:
 *   frontend gRPC        AGORA_FRONTEND_PORT_BASE + k        50051..50055 (HAProxy)
 *   frontend HTTP        frontend gRPC + 1000                51051..51055 (HAProxy)
 *   replica gRPC         AGORA_REPLICA_PORT_BASE + 100k + r  order-1 25101, report-2 25502
 *   replica HTTP         replica gRPC + 1000                 order-1 26101, report-2 26502
 *   stats page           AGORA_HAPROXY_STATS_PORT            8404
 * Replica ports sit below 32768, Linux's default range for outgoing connections' local
 * ports, so a busy machine never holds one of them when a replica restarts.
 */
import {randomBytes} from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import type {TlsFiles} from '../../services/common/auth/dev_ca.js';
import {ConfigError, EnvReader} from '../../services/common/config/env.js';
import {
  HTTP_PORT_OFFSET,
  SERVICE_PORTS,
  envPrefix,
  type ServiceName,
} from '../../services/common/config/service_config.js';
import {
  databaseEnvFor,
  localDevCa,
  repoRoot,
} from '../../services/common/process/service_process.js';

export const SERVICE_NAMES = Object.keys(SERVICE_PORTS) as ServiceName[];

/** The replica set's own settings; the services read theirs (AGORA_*) as usual. */
export interface ReplicaSettings {
  /** Replicas per service (AGORA_REPLICAS, 1..99, default 2). */
  replicas: number;
  host: string;
  /** Frontend port of service k is this + k (AGORA_FRONTEND_PORT_BASE, default 50050). */
  frontendPortBase: number;
  /** Replica r of service k listens on this + 100k + r (AGORA_REPLICA_PORT_BASE, default 25000). */
  replicaPortBase: number;
  /** HAProxy's stats page (AGORA_HAPROXY_STATS_PORT, default 8404). */
  statsPort: number;
  /** State, config, sockets and logs (AGORA_STATE_DIR, default <repo>/.agora). */
  stateDir: string;
}

export function readReplicaSettings(
  env: EnvReader = new EnvReader(),
): ReplicaSettings {
  return {
    replicas: env.int('AGORA_REPLICAS', 2, 1, 99),
    host: env.string('AGORA_HOST', '127.0.0.1'),
    frontendPortBase: env.int('AGORA_FRONTEND_PORT_BASE', 50050, 1, 65000),
    replicaPortBase: env.int('AGORA_REPLICA_PORT_BASE', 25000, 1, 63000),
    statsPort: env.port('AGORA_HAPROXY_STATS_PORT', 8404),
    stateDir: stateDir(env),
  };
}

/** The state directory alone: all the rolling deploy needs to find the replica set. */
export function stateDir(env: EnvReader = new EnvReader()): string {
  return resolve(env.string('AGORA_STATE_DIR', join(repoRoot(), '.agora')));
}

/** k in the port scheme: 1 for order … 5 for report. */
export function serviceNumber(name: ServiceName): number {
  return SERVICE_NAMES.indexOf(name) + 1;
}

export function frontendPort(s: ReplicaSettings, name: ServiceName): number {
  return s.frontendPortBase + serviceNumber(name);
}

/** The balanced Connect / gRPC-Web / healthz port, as HTTP_PORT_OFFSET for one process. */
export function frontendHttpPort(
  s: ReplicaSettings,
  name: ServiceName,
): number {
  return frontendPort(s, name) + HTTP_PORT_OFFSET;
}

export function replicaPorts(
  s: ReplicaSettings,
  name: ServiceName,
  replica: number,
): {grpcPort: number; httpPort: number} {
  const grpcPort = s.replicaPortBase + 100 * serviceNumber(name) + replica;
  return {grpcPort, httpPort: grpcPort + HTTP_PORT_OFFSET};
}

/** One running replica. */
export interface ReplicaRecord {
  /** Its server name in HAProxy, e.g. "order-1". */
  server: string;
  replica: number;
  pid: number;
  grpcPort: number;
  httpPort: number;
  /** Variables it was started with on top of the shared ones (ports, peer addresses). */
  env: Record<string, string>;
  log: string;
  startedAt: string;
  /** 0 for the launcher's process, +1 for each rolling restart. */
  generation: number;
  /**
   * True while the rolling deploy replaces it: its process may be gone or not yet
   * serving, and the launcher must not report that as a failure.
   */
  restarting: boolean;
}

export interface ServiceRecord {
  /** What gRPC clients dial: the HAProxy frontend. */
  frontend: string;
  /** The HAProxy frontend for Connect / gRPC-Web over HTTP/1.1. */
  httpFrontend: string;
  /** The HAProxy backend holding its replicas. */
  backend: string;
  replicas: ReplicaRecord[];
}

export interface ReplicaState {
  version: 1;
  launcherPid: number;
  startedAt: string;
  /** True once every replica was SERVING through HAProxy and the catalogue seeded. */
  ready: boolean;
  /** Where every replica and frontend listens (AGORA_HOST). */
  host: string;
  /**
   * The Node binary the launcher ran on (the project's Node 22), so a replica started
   * by a rolling deploy run from a shell whose PATH finds another Node still gets it.
   */
  node: string;
  /** AGORA_* variables every replica is started with, so a restart gets the same. */
  env: Record<string, string>;
  haproxy: {
    pid: number;
    config: string;
    statsSocket: string;
    statsUrl: string;
    log: string;
  };
  services: Record<ServiceName, ServiceRecord>;
}

export function stateFile(dir: string): string {
  return join(dir, 'replicas.json');
}

/** The state, or undefined when no replica set was started from `dir`. */
export function readState(dir: string): ReplicaState | undefined {
  const file = stateFile(dir);
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as ReplicaState;
  if (state.version !== 1) {
    throw new Error(`${file} has version ${state.version}; expected 1`);
  }
  return state;
}

export function writeState(dir: string, state: ReplicaState): void {
  const file = stateFile(dir);
  mkdirSync(dirname(file), {recursive: true});
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

/** Reads, changes and writes the state (the only writers take turns: see above). */
export function updateState(
  dir: string,
  change: (state: ReplicaState) => void,
): ReplicaState {
  const state = readState(dir);
  if (!state) {
    throw new Error(`${stateFile(dir)} is gone: the replica set was stopped`);
  }
  change(state);
  writeState(dir, state);
  return state;
}

/** The replica named `server` of `name` in `state`. */
export function findReplica(
  state: ReplicaState,
  name: ServiceName,
  server: string,
): ReplicaRecord {
  const found = state.services[name].replicas.find(r => r.server === server);
  if (!found) throw new Error(`no replica ${server} in the state file`);
  return found;
}

/** Environment variables a replica of `name` gets on top of the shared ones. */
export function replicaEnv(
  s: ReplicaSettings,
  name: ServiceName,
  ports: {grpcPort: number; httpPort: number},
): Record<string, string> {
  const env: Record<string, string> = {
    [`${envPrefix(name)}PORT`]: String(ports.grpcPort),
    [`${envPrefix(name)}HTTP_PORT`]: String(ports.httpPort),
    // Its own database role, and the owner's for migrations (from the launcher's
    // AGORA_DATABASE_URL, which every replica shares).
    ...databaseEnvFor(name, process.env),
  };
  if (name === 'order') {
    // Order calls its peers through the balancer too, so a draining Pricing, Inventory
    // or Payment replica is hidden from the saga exactly as from outside clients.
    for (const peer of ['pricing', 'inventory', 'payment'] as const) {
      env[`${envPrefix(peer)}ADDR`] = `${s.host}:${frontendPort(s, peer)}`;
    }
  }
  return env;
}

/** Variables of the replica tools themselves, never passed on to a service. */
const TOOL_VARIABLES = new Set([
  'AGORA_REPLICAS',
  'AGORA_FRONTEND_PORT_BASE',
  'AGORA_REPLICA_PORT_BASE',
  'AGORA_HAPROXY_STATS_PORT',
  'AGORA_STATE_DIR',
]);

/**
 * The AGORA_* settings in `env` that every replica shares (database, namespace, log
 * level, drain time…): not the tools' own, and not ports or peer addresses, which are
 * per replica.
 */
export function sharedServiceEnv(
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const shared: Record<string, string> = {AGORA_LOG_LEVEL: 'info'};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || !key.startsWith('AGORA_')) continue;
    if (TOOL_VARIABLES.has(key)) continue;
    const perReplica = SERVICE_NAMES.some(
      n => key.startsWith(envPrefix(n)) && /_(PORT|HTTP_PORT|ADDR)$/.test(key),
    );
    if (!perReplica) shared[key] = value;
  }
  return shared;
}

/**
 * The complete environment of a replica: this process's, minus every AGORA_* variable
 * (the state file decides those), plus the shared and the replica's own settings.
 */
export function replicaProcessEnv(
  state: ReplicaState,
  replica: ReplicaRecord,
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('AGORA_')) env[key] = value;
  }
  return {...env, ...state.env, ...replica.env};
}

/** The variables that name mutual TLS material; services/common/auth/tls_config.ts reads them. */
const TLS_MATERIAL_VARIABLES = [
  'AGORA_TLS_DEV_DIR',
  'AGORA_TLS_CA_FILE',
  'AGORA_TLS_CERT_FILE',
  'AGORA_TLS_KEY_FILE',
];

/**
 * What the replica set adds to the shared environment for mutual TLS: with AGORA_TLS=on
 * and no certificate named (none of TLS_MATERIAL_VARIABLES), the local development CA,
 * created under .agora/tls on first use, as `npm start` and the tests use it. Nothing
 * when AGORA_TLS is off, or when `env` names its own files (they are shared as they are).
 */
export function replicaTlsEnv(
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  if (new EnvReader(env).oneOf('AGORA_TLS', 'off', ['on', 'off']) === 'off') {
    return {};
  }
  if (TLS_MATERIAL_VARIABLES.some(v => env[v])) return {};
  return {AGORA_TLS_DEV_DIR: localDevCa().dir};
}

/**
 * The certificate the replica tools (the launcher, the rolling deploy) present to the
 * replicas' gRPC ports and to the frontends when `env` (the replicas' shared environment,
 * as in the state file) has AGORA_TLS=on: the development CA's client certificate, unless
 * AGORA_TLS_CA_FILE / _CERT_FILE / _KEY_FILE name other files, as they do for every
 * service. Undefined when AGORA_TLS is off. Throws a ConfigError naming the variable when
 * a file is neither named nor found, before anything has started.
 */
export function toolTlsFiles(
  env: Record<string, string | undefined>,
): TlsFiles | undefined {
  if (new EnvReader(env).oneOf('AGORA_TLS', 'off', ['on', 'off']) === 'off') {
    return undefined;
  }
  const dir = env.AGORA_TLS_DEV_DIR;
  const file = (variable: string, inDevDir: string): string => {
    const path = env[variable] || (dir && join(dir, inDevDir));
    if (!path) {
      throw new ConfigError(variable, 'must be set when AGORA_TLS=on', '');
    }
    if (!existsSync(path)) {
      throw new ConfigError(variable, 'names a file that does not exist', path);
    }
    return path;
  };
  return {
    ca: file('AGORA_TLS_CA_FILE', 'ca.crt'),
    cert: file('AGORA_TLS_CERT_FILE', 'client.crt'),
    key: file('AGORA_TLS_KEY_FILE', 'client.key'),
  };
}
