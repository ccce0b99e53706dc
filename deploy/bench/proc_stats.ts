/**
 * CPU time and memory of whole process trees, read from /proc: the honest cost of an
 * order is the CPU every process spent on it (services, PostgreSQL, Redis, RabbitMQ,
 * the balancer), not what one of them reports.
 */
import {readdirSync, readFileSync} from 'node:fs';

const TICKS_PER_SECOND = 100; // CLK_TCK on Linux x86-64

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime of the process itself. */
  own: number;
  /** cutime + cstime: children that exited and were reaped. */
  reaped: number;
}

function readProcs(): Map<number, Proc> {
  const procs = new Map<number, Proc>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      // Fields after the comm start at field 3 (state); utime is field 14.
      procs.set(Number(entry), {
        pid: Number(entry),
        ppid: Number(f[1]),
        comm,
        own: Number(f[11]) + Number(f[12]),
        reaped: Number(f[13]) + Number(f[14]),
      });
    } catch {
      // The process ended while we read.
    }
  }
  return procs;
}

/** The root processes to account: ours by pid, the servers by command name. */
export interface Accounted {
  name: string;
  pids?: number[];
  /** Root processes whose command is one of these and whose parent is not. */
  comm?: string[];
}

/** CPU seconds so far of each named tree (roots, live descendants, reaped children). */
export function cpuSeconds(groups: Accounted[]): Record<string, number> {
  const procs = readProcs();
  const children = new Map<number, Proc[]>();
  for (const p of procs.values()) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const tree = (root: Proc): number => {
    let sum = root.own + root.reaped;
    for (const c of children.get(root.pid) ?? []) sum += tree(c);
    return sum;
  };
  const result: Record<string, number> = {};
  for (const g of groups) {
    let roots: Proc[] = [];
    if (g.pids)
      roots = g.pids.map(pid => procs.get(pid)).filter((p): p is Proc => !!p);
    if (g.comm) {
      roots = [...procs.values()].filter(
        p =>
          g.comm!.includes(p.comm) &&
          !g.comm!.includes(procs.get(p.ppid)?.comm ?? ''),
      );
    }
    result[g.name] = roots.reduce((s, r) => s + tree(r), 0) / TICKS_PER_SECOND;
  }
  return result;
}

/** Resident memory of a process in MiB (0 when it is gone). */
export function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status);
    return kb ? Number(kb[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** The infrastructure every order touches, by command name. */
export const INFRASTRUCTURE: Accounted[] = [
  {name: 'postgresql', comm: ['postgres']},
  {name: 'redis', comm: ['redis-server']},
  {name: 'rabbitmq', comm: ['beam.smp']},
  {name: 'haproxy', comm: ['haproxy']},
];
