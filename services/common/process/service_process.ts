/**
 * Starting Agora service processes and knowing when they serve: used by the local
 * launcher (npm start) and by the integration tests, so both run the real thing.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {createWriteStream, existsSync, mkdirSync, readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import * as grpc from '@grpc/grpc-js';
import {service as healthService} from 'grpc-health-check';
import {DevCa, type TlsFiles} from '../auth/dev_ca.js';
import {DevIssuer} from '../auth/dev_issuer.js';
import {EnvReader} from '../config/env.js';
import {
  DEFAULT_DATABASE_URL,
  type ServiceName,
} from '../config/service_config.js';
import {OWNER_ROLE, SERVICE_SCHEMAS, serviceRole} from '../db/service_roles.js';

/** Repository root (this file is services/common/process/ in src or dist). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/**
 * The development issuer every local launcher (npm start, the tests, the benches, the
 * replica system) configures its services with, created once under .agora/auth.
 */
export function localDevIssuer(): Promise<DevIssuer> {
  return DevIssuer.ensure(join(repoRoot(), '.agora', 'auth'));
}

/** The development CA of mutual TLS runs (AGORA_TLS=on), created once under .agora/tls. */
export function localDevCa(): DevCa {
  return DevCa.ensure(join(repoRoot(), '.agora', 'tls'));
}

/** The compiled entry point of a service. */
export function serviceEntry(name: ServiceName): string {
  const entry = join(repoRoot(), 'dist', 'services', name, 'src', 'main.js');
  if (!existsSync(entry)) {
    throw new Error(`${entry} is missing: run "npm run build" first`);
  }
  return entry;
}

/**
 * V8's old-generation limit per service, in MiB (AGORA_<SERVICE>_HEAP_MB overrides it).
 * Left to itself V8 grows the heap under load far beyond what is live: Order reached
 * 200–270 MB RSS in `npm run bench` with ~34 MB live after a full GC. At 128 MB every
 * hot-path service stayed at 133–142 MB RSS with no more CPU per order; at 96 MB and
 * below, collections come so often that CPU per order rises (64 MB tripled it). Report
 * builds whole reports and exports in memory, so it gets room to spare.
 */
export const DEFAULT_HEAP_MB: Record<ServiceName, number> = {
  order: 128,
  payment: 128,
  inventory: 128,
  pricing: 128,
  report: 512,
};

/**
 * V8's young-generation semi-space cap, in MiB (V8's default is 16). Each semi-space is
 * touched in full by scavenges, so the cap is resident memory. bench:watchers
 * (2026-12-04, one run each, same machine): 8 MiB took 13-16 MB off every service's
 * peak RSS (Inventory 145 -> 129 MB under load, 207 -> 194 MB with 4,000 watch
 * streams), with GC time and CPU per paid order inside the runs' noise.
 */
export const SEMI_SPACE_MB = 8;

/** The heap limit `name` runs with in `env`. */
export function heapLimitMb(
  name: ServiceName,
  env: Record<string, string | undefined> = process.env,
): number {
  return new EnvReader(env).int(
    `AGORA_${name.toUpperCase()}_HEAP_MB`,
    DEFAULT_HEAP_MB[name],
    64,
    65536,
  );
}

/**
 * Node arguments that run a service: its heap limits, and tracing loaded before it (see
 * telemetry/register.ts).
 */
export function serviceArgs(
  name: ServiceName,
  env: Record<string, string | undefined> = process.env,
): string[] {
  const register = join(
    repoRoot(),
    'dist',
    'services',
    'common',
    'telemetry',
    'register.js',
  );
  return [
    `--max-old-space-size=${heapLimitMb(name, env)}`,
    `--max-semi-space-size=${SEMI_SPACE_MB}`,
    '--import',
    register,
    serviceEntry(name),
  ];
}

export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  grpcAddress: string;
  httpAddress: string;
  /** SIGTERM, then wait for exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Starts a service with `env` and resolves once it logged "serving" (which it does only
 * after migrations ran and both listeners are bound). Output goes to `logFile`.
 */
export function startServiceProcess(
  name: ServiceName,
  env: Record<string, string>,
  logFile: string,
  startTimeoutMs = 60_000,
): Promise<ServiceProcess> {
  return startServiceProcessAt(
    name,
    serviceArgs(name, {...process.env, ...env}),
    env,
    logFile,
    startTimeoutMs,
  ) as Promise<ServiceProcess>;
}

/**
 * Starts `previous.name` again with `env` on the ports `previous` had (after it
 * exited), so everything that dials it (Order, a balancer, a test's client) finds it
 * where it was.
 */
export function restartServiceProcess(
  previous: ServiceProcess,
  env: Record<string, string>,
  logFile: string,
): Promise<ServiceProcess> {
  const prefix = `AGORA_${previous.name.toUpperCase()}_`;
  const portOf = (address: string) =>
    address.slice(address.lastIndexOf(':') + 1);
  return startServiceProcess(
    previous.name,
    {
      ...env,
      [`${prefix}PORT`]: portOf(previous.grpcAddress),
      [`${prefix}HTTP_PORT`]: portOf(previous.httpAddress),
    },
    logFile,
  );
}

/**
 * AGORA_DATABASE_URL and AGORA_MIGRATION_DATABASE_URL for `name` on the database `env`
 * points at (its AGORA_DATABASE_URL, else the services' default): the service's own
 * role (agora_<name>) for its queries and agora_owner for its migrations, as in
 * docker-compose.yml, so local runs and tests meet the same permissions. The roles
 * come from deploy/local/infra.sh and testing/isolation.ts, without passwords (local
 * PostgreSQL trusts 127.0.0.1). Nothing when `env` already sets a migration URL (its
 * author chose the roles) or `name` is not a service (a benchmark's helper).
 */
export function databaseEnvFor(
  name: string,
  env: Record<string, string | undefined>,
): Record<string, string> {
  if (!Object.hasOwn(SERVICE_SCHEMAS, name) || env.AGORA_MIGRATION_DATABASE_URL)
    return {};
  const as = (role: string) => {
    const url = new URL(env.AGORA_DATABASE_URL || DEFAULT_DATABASE_URL);
    url.username = role;
    url.password = '';
    return url.toString();
  };
  return {
    AGORA_DATABASE_URL: as(serviceRole(name as ServiceName)),
    AGORA_MIGRATION_DATABASE_URL: as(OWNER_ROLE),
  };
}

/**
 * Starts any Node program that logs a JSON "serving" line with its addresses (a service,
 * or a benchmark's helper server); `args` are Node's arguments.
 */
export function startServiceProcessAt(
  name: string,
  args: string | string[],
  env: Record<string, string>,
  logFile: string,
  startTimeoutMs = 60_000,
): Promise<Omit<ServiceProcess, 'name'> & {name: string}> {
  mkdirSync(dirname(logFile), {recursive: true});
  const log = createWriteStream(logFile, {flags: 'a'});
  const child = spawn(
    process.execPath,
    typeof args === 'string' ? [args] : args,
    {
      env: {
        ...process.env,
        ...env,
        ...databaseEnvFor(name, {...process.env, ...env}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stderr?.pipe(log);
  return new Promise((resolve, reject) => {
    let buffered = '';
    let started = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${name} did not start within ${startTimeoutMs} ms; see ${logFile}`,
        ),
      );
    }, startTimeoutMs);
    let lastLine = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      lastLine = chunk.toString().trim().split('\n').pop() ?? lastLine;
    });
    // 'close' (not 'exit'): by then everything the process printed has been read.
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      log.end();
      reject(
        new Error(
          `${name} exited with code ${code} while starting: ${lastLine.slice(0, 500)} (log: ${logFile})`,
        ),
      );
    };
    child.once('close', onExit);
    child.stdout?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (started) return;
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim()) lastLine = line;
        if (!line.includes('"msg":"serving"')) continue;
        const parsed = JSON.parse(line) as {grpc: string; http: string};
        clearTimeout(timer);
        child.off('close', onExit);
        started = true;
        resolve({
          name,
          child,
          grpcAddress: parsed.grpc,
          httpAddress: parsed.http,
          stop: (graceMs = 15_000) => stopChild(child, graceMs),
        });
        return;
      }
    });
  });
}

function stopChild(
  child: ChildProcess,
  graceMs: number,
): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(child.exitCode);
  return new Promise(resolve => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', code => {
      clearTimeout(kill);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

/** Asks grpc.health.v1.Health/Check; resolves true for SERVING. */
export function checkHealth(
  address: string,
  timeoutMs = 2000,
  /** Mutual TLS: the client certificate to present (services with AGORA_TLS=on). */
  tls?: TlsFiles,
): Promise<boolean> {
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  const credentials = tls
    ? grpc.credentials.createSsl(
        readFileSync(tls.ca),
        readFileSync(tls.key),
        readFileSync(tls.cert),
      )
    : grpc.credentials.createInsecure();
  const client = new Health(address, credentials);
  return new Promise(resolve => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (req: object) => healthService.Check.requestSerialize(req),
      (buf: Buffer) =>
        healthService.Check.responseDeserialize(buf) as {
          status: string | number;
        },
      {service: ''},
      new grpc.Metadata(),
      {deadline: Date.now() + timeoutMs},
      (err, res) => {
        client.close();
        resolve(!err && (res?.status === 'SERVING' || res?.status === 1));
      },
    );
  });
}

/** Waits until every address reports SERVING. */
export async function waitServing(
  addresses: string[],
  timeoutMs = 30_000,
  tls?: TlsFiles,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const address of addresses) {
    while (!(await checkHealth(address, 2000, tls))) {
      if (Date.now() > deadline)
        throw new Error(`${address} is not SERVING after ${timeoutMs} ms`);
      await new Promise(r => setTimeout(r, 200));
    }
  }
}
