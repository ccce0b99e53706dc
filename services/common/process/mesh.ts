/**
 * Starts all five services as separate processes, wired to each other over gRPC:
 * the four that Order depends on first, then Order with their addresses.
 */
import {join} from 'node:path';
import type {TlsFiles} from '../auth/dev_ca.js';
import {type ServiceName} from '../config/service_config.js';
import {
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
  processes: Record<ServiceName, ServiceProcess>;
  stop(): Promise<void>;
}

const LEAVES: ServiceName[] = ['pricing', 'inventory', 'payment', 'report'];

function portEnv(name: ServiceName, anyPorts: boolean): Record<string, string> {
  if (!anyPorts) return {};
  const prefix = `AGORA_${name.toUpperCase()}_`;
  return {[`${prefix}PORT`]: '0', [`${prefix}HTTP_PORT`]: '0'};
}

export async function startMesh(opts: MeshOptions): Promise<Mesh> {
  const started: ServiceProcess[] = [];
  const stopAll = async () => {
    await Promise.all(started.map(p => p.stop()));
  };
  try {
    // Migrations of one schema never wait on another's, so the leaves start together.
    const starting = LEAVES.map(name =>
      startServiceProcess(
        name,
        {...opts.env, ...portEnv(name, opts.anyPorts)},
        join(opts.logDir, `${name}.log`),
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
    const order = await startServiceProcess(
      'order',
      {
        ...opts.env,
        ...portEnv('order', opts.anyPorts),
        AGORA_PRICING_ADDR: byName.pricing.grpcAddress,
        AGORA_INVENTORY_ADDR: byName.inventory.grpcAddress,
        AGORA_PAYMENT_ADDR: byName.payment.grpcAddress,
      },
      join(opts.logDir, 'order.log'),
    );
    started.push(order);
    byName.order = order;
    await waitServing(
      started.map(p => p.grpcAddress),
      30_000,
      opts.tls,
    );
    return {processes: byName, stop: stopAll};
  } catch (err) {
    await stopAll();
    throw err;
  }
}
