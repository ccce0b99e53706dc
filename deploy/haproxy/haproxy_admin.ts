/**
 * HAProxy's admin socket, as far as the replica tools need it: which replicas HAProxy
 * currently sends calls to. The rolling deploy moves on only when HAProxy itself says a
 * new replica is UP, rather than guessing from check timings.
 */
import {connect} from 'node:net';

/** One server row of `show stat`. */
export interface ServerStat {
  backend: string;
  server: string;
  /**
   * "UP", "DOWN", "MAINT", "DRAIN", "no check", or a transition such as "DOWN 1/2"
   * (down, one of the two checks needed to rise has passed).
   */
  status: string;
  /** Requests sent to it since HAProxy started. */
  sessions: number;
}

/** Sends one command to the admin socket and returns the whole answer. */
export function adminCommand(
  socketPath: string,
  command: string,
  timeoutMs = 2000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`HAProxy admin socket ${socketPath} did not answer`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', err => {
      clearTimeout(timer);
      reject(err);
    });
    // Without "prompt" mode HAProxy answers one command and closes the connection.
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

/** Every row of `show stat` (frontends, servers, backend totals), by column name. */
export async function showStat(
  socketPath: string,
): Promise<Array<Record<string, string>>> {
  const csv = await adminCommand(socketPath, 'show stat');
  const [header, ...rows] = csv.split('\n').filter(l => l.trim() !== '');
  if (!header?.startsWith('# ')) {
    throw new Error(`unexpected "show stat" answer: ${csv.slice(0, 200)}`);
  }
  const columns = header.slice(2).split(',');
  return rows.map(line => {
    const fields = line.split(',');
    return Object.fromEntries(columns.map((c, i) => [c, fields[i] ?? '']));
  });
}

/** The server rows of `show stat` (frontends and backend totals left out). */
export async function showServers(socketPath: string): Promise<ServerStat[]> {
  const rows = await showStat(socketPath);
  return rows
    .filter(r => r.svname !== 'FRONTEND' && r.svname !== 'BACKEND')
    .map(r => ({
      backend: r.pxname,
      server: r.svname,
      status: r.status,
      sessions: Number(r.stot),
    }));
}

/** What HAProxy did to hide failures, summed over every backend since it started. */
export interface RecoveryCounters {
  /** Requests sent again after a failed connection or an empty response (wretr). */
  retries: number;
  /** Of those, sent to another server (wredis). */
  redispatches: number;
  /** Requests that failed at the balancer: connection or response errors (econ + eresp). */
  errors: number;
}

export async function recoveryCounters(
  socketPath: string,
): Promise<RecoveryCounters> {
  const rows = (await showStat(socketPath)).filter(r => r.svname === 'BACKEND');
  const sum = (column: string) =>
    rows.reduce((total, r) => total + (Number(r[column]) || 0), 0);
  return {
    retries: sum('wretr'),
    redispatches: sum('wredis'),
    errors: sum('econ') + sum('eresp'),
  };
}

/** The status of one server, or undefined when HAProxy has no such server. */
export async function serverStatus(
  socketPath: string,
  backend: string,
  server: string,
): Promise<string | undefined> {
  const rows = await showServers(socketPath);
  return rows.find(r => r.backend === backend && r.server === server)?.status;
}

/** Waits until HAProxy reports every (backend, server) pair as exactly "UP". */
export async function waitServersUp(
  socketPath: string,
  servers: Array<{backend: string; server: string}>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await showServers(socketPath);
    const notUp = servers.filter(
      s =>
        rows.find(r => r.backend === s.backend && r.server === s.server)
          ?.status !== 'UP',
    );
    if (notUp.length === 0) return;
    if (Date.now() > deadline) {
      const list = notUp
        .map(s => {
          const row = rows.find(
            r => r.backend === s.backend && r.server === s.server,
          );
          return `${s.backend}/${s.server} (${row?.status ?? 'unknown'})`;
        })
        .join(', ');
      throw new Error(`HAProxy does not see ${list} UP after ${timeoutMs} ms`);
    }
    await new Promise(r => setTimeout(r, 100));
  }
}
