/**
 * Service replicas that outlive the command that started them: used by the replica
 * launcher (`npm run start:replicas`) and the rolling deploy, which are separate
 * processes that take turns on the same replicas.
 *
 * Why detached: the rolling deploy stops a replica the launcher started and starts its
 * successor, so no process can hold them as children and treat an exit as a failure.
 * A detached replica also has its own process group, so a Ctrl-C in the launcher's
 * terminal reaches only the launcher, which then stops the replicas in a safe order.
 * Replicas are known by pid, and a pid is signalled only after /proc confirms it still
 * runs the service's entry point (pids are reused).
 */
import {spawn} from 'node:child_process';
import {closeSync, mkdirSync, openSync, readFileSync, writeSync} from 'node:fs';
import {dirname, join} from 'node:path';
import type {TlsFiles} from '../auth/dev_ca.js';
import type {ServiceName} from '../config/service_config.js';
import {checkHealth, repoRoot, serviceArgs} from './service_process.js';

/**
 * Starts `name` detached with exactly `env` (not merged with this process's: a
 * restarted replica must get what its predecessor got, whoever restarts it) and the
 * Node binary `nodePath`, appending its output to `logFile`; returns its pid at once
 * (see waitReplicaServing).
 */
export function spawnDetachedService(
  name: ServiceName,
  env: Record<string, string | undefined>,
  logFile: string,
  nodePath: string = process.execPath,
): number {
  mkdirSync(dirname(logFile), {recursive: true});
  const fd = openSync(logFile, 'a');
  try {
    writeSync(
      fd,
      `--- ${new Date().toISOString()} starting ${name} (${describePorts(env)})\n`,
    );
    const child = spawn(nodePath, serviceArgs(name, env), {
      env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) {
      throw new Error(`${name} could not be started (spawn failed)`);
    }
    // The caller does not wait for it: its exit must not keep this process alive.
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd); // the child holds its own copy
  }
}

function describePorts(env: Record<string, string | undefined>): string {
  return Object.entries(env)
    .filter(([k]) => k.startsWith('AGORA_') && k.endsWith('_PORT'))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/**
 * True when `pid` is a live process running `name`'s entry point. /proc rather than
 * kill(pid, 0): an exited replica stays a zombie until its parent reaps it (in a
 * container, the init that inherits it may never do so), and a zombie answers kill.
 */
export function isServiceProcess(pid: number, name: ServiceName): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the command name, which is in parentheses.
    const state = stat.slice(
      stat.lastIndexOf(')') + 2,
      stat.lastIndexOf(')') + 3,
    );
    if (state === 'Z' || state === 'X') return false;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    // Not serviceEntry(): that throws while dist/ is being rebuilt, and a running
    // replica is still a replica then.
    const entry = join(repoRoot(), 'dist', 'services', name, 'src', 'main.js');
    return argv.includes(entry);
  } catch {
    return false; // no such process
  }
}

/**
 * Waits until the replica answers SERVING on its own gRPC address; rejects as soon as
 * the process is gone (with the last line of its log), or after `timeoutMs`. A replica
 * on mutual TLS (AGORA_TLS=on) answers only a caller with a certificate: `tls`.
 */
export async function waitReplicaServing(
  pid: number,
  name: ServiceName,
  grpcAddress: string,
  logFile: string,
  timeoutMs = 60_000,
  tls?: TlsFiles,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isServiceProcess(pid, name)) {
      throw new Error(
        `${name} (pid ${pid}) exited while starting: ${lastLogLine(logFile)} (log: ${logFile})`,
      );
    }
    if (await checkHealth(grpcAddress, 1000, tls)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${name} (pid ${pid}) is not SERVING on ${grpcAddress} after ${timeoutMs} ms; see ${logFile}`,
      );
    }
    await sleep(100);
  }
}

/**
 * SIGTERM (the service drains: NOT_SERVING, AGORA_DRAIN_MS, in-flight calls finish),
 * then waits for the exit; SIGKILL after `graceMs`. Resolves at once when `pid` is not
 * (or no longer) `name`; resolves true when it had to kill.
 */
export async function stopServicePid(
  pid: number,
  name: ServiceName,
  graceMs = 20_000,
): Promise<boolean> {
  if (!isServiceProcess(pid, name)) return false;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isServiceProcess(pid, name)) {
    if (Date.now() > deadline) {
      signal(pid, 'SIGKILL');
      while (isServiceProcess(pid, name)) await sleep(50);
      return true;
    }
    await sleep(50);
  }
  return false;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone between the check and the signal: that is what we wanted.
  }
}

/** The last non-empty line of a log file, shortened; for error messages. */
export function lastLogLine(logFile: string): string {
  try {
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    return (lines.pop() ?? '').slice(0, 500);
  } catch {
    return '(no log)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
