/**
 * Starts all five services as separate processes, wired to each other over gRPC:
 * the four that Order depends on first, then Order with their addresses.
 */
import {join} from 'node:path';
import type {TlsFiles} from '../auth/dev_ca.js';
import {type ServiceName} from '../config/service_config.js';
import {
  restartServiceProcess,
  startServiceProcess,
  waitServing,
  type ServiceProcess,
} from './service_process.js';

export interface MeshOptions {
  /** Environment shared by every service (database URL, namespace, log level…). */
  env: Record<string, string>;
  /** Bind port 0 everywhere (tests) instead of the default ports (npm start). */
  anyPorts: boolean;
  logDir: string;
  /** When the services run mutual TLS (AGORA_TLS=on): the certificate health checks present. */
  tls?: TlsFiles;
}

export interface Mesh {
  /** The running process of each service (respawn replaces an entry). */
  processes: Record<ServiceName, ServiceProcess>;
  /**
   * Starts `name` again after its process exited, with the environment and the ports
   * it had, so every other service (and Order's addresses of its peers) stays valid.
   */
  respawn(name: ServiceName): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

const LEAVES: ServiceName[] = ['pricing', 'inventory', 'payment', 'report'];

function portEnv(name: ServiceName, anyPorts: boolean): Record<string, string> {
  if (!anyPorts) return {};
  const prefix = `AGORA_${name.toUpperCase()}_`;
  return {[`${prefix}PORT`]: '0', [`${prefix}HTTP_PORT`]: '0'};
}

export async function startMesh(opts: MeshOptions): Promise<Mesh> {
  let started: ServiceProcess[] = [];
  const envOf = {} as Record<ServiceName, Record<string, string>>;
  const stopAll = async () => {
    await Promise.all(started.map(p => p.stop()));
  };
  const logOf = (name: ServiceName) => join(opts.logDir, `${name}.log`);
  try {
    // Migrations of one schema never wait on another's, so the leaves start together.
    for (const name of LEAVES) envOf[name] = opts.env;
    const starting = LEAVES.map(name =>
      startServiceProcess(
        name,
        {...envOf[name], ...portEnv(name, opts.anyPorts)},
        logOf(name),
      ),
    );
    const settled = await Promise.allSettled(starting);
    const leaves: ServiceProcess[] = [];
    for (const s of settled) if (s.status === 'fulfilled') leaves.push(s.value);
    started.push(...leaves);
    const failed = settled.find(s => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const byName = Object.fromEntries(leaves.map(p => [p.name, p])) as Record<
      ServiceName,
      ServiceProcess
    >;
    envOf.order = {
      ...opts.env,
      AGORA_PRICING_ADDR: byName.pricing.grpcAddress,
      AGORA_INVENTORY_ADDR: byName.inventory.grpcAddress,
      AGORA_PAYMENT_ADDR: byName.payment.grpcAddress,
    };
    const order = await startServiceProcess(
      'order',
      {...envOf.order, ...portEnv('order', opts.anyPorts)},
      logOf('order'),
    );
    started.push(order);
    byName.order = order;
    await waitServing(
      started.map(p => p.grpcAddress),
      30_000,
      opts.tls,
    );
    const respawn = async (name: ServiceName): Promise<ServiceProcess> => {
      const previous = byName[name];
      const p = await restartServiceProcess(previous, envOf[name], logOf(name));
      started = [...started.filter(s => s !== previous), p];
      byName[name] = p;
      return p;
    };
    return {processes: byName, respawn, stop: stopAll};
  } catch (err) {
    await stopAll();
    throw err;
  }
}
