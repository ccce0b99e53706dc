/**
 * Running our own haproxy: validate the generated config, start it detached in the
 * foreground mode (so its log is a plain file), find it again by pid, stop it.
 */
import {spawn, spawnSync} from 'node:child_process';
import {closeSync, mkdirSync, openSync, readFileSync} from 'node:fs';
import {dirname} from 'node:path';
import {showServers} from './haproxy_admin.js';

/** Throws with haproxy's own message when `config` is invalid. */
export function checkHaproxyConfig(config: string): void {
  const result = spawnSync('haproxy', ['-c', '-q', '-f', config], {
    encoding: 'utf8',
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(
      `haproxy rejects ${config}: ${(result.stderr || result.stdout).trim()}`,
    );
  }
}

/**
 * Starts haproxy with `config`, detached (Ctrl-C in the launcher's terminal must not
 * reach it before the services have drained), and returns its pid at once, so the
 * caller can record it before anything can interrupt it. Its log (`log stdout`: dated
 * health changes and failed requests) goes to `logFile`; its stderr (start-up messages,
 * and an undated copy of every warning) to stderrFile(logFile).
 */
export function spawnHaproxy(config: string, logFile: string): number {
  mkdirSync(dirname(logFile), {recursive: true});
  const out = openSync(logFile, 'a');
  const err = openSync(stderrFile(logFile), 'a');
  try {
    // -db: stay in the foreground (no daemon, no pid file to go stale). Not -q: it
    // silences `log stdout` too.
    const child = spawn('haproxy', ['-db', '-f', config], {
      detached: true,
      stdio: ['ignore', out, err],
    });
    if (child.pid === undefined)
      throw new Error('haproxy could not be started');
    child.unref();
    return child.pid;
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/** Resolves once haproxy `pid` answers on its admin socket; rejects if it exits. */
export async function waitHaproxyReady(
  pid: number,
  config: string,
  statsSocket: string,
  logFile: string,
  timeoutMs = 10_000,
): Promise<void> {
  const errFile = stderrFile(logFile);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isHaproxyProcess(pid, config)) {
      throw new Error(
        `haproxy exited at start: ${tail(errFile)} (see ${errFile})`,
      );
    }
    try {
      await showServers(statsSocket);
      return;
    } catch {
      if (Date.now() > deadline) {
        throw new Error(
          `haproxy's admin socket ${statsSocket} does not answer; see ${errFile}`,
        );
      }
      await new Promise(r => setTimeout(r, 100));
    }
  }
}

/** True when `pid` is a live haproxy running `config` (pids are reused). */
export function isHaproxyProcess(pid: number, config: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some(a => a.endsWith('haproxy')) && argv.includes(config);
  } catch {
    return false;
  }
}

/**
 * Soft stop (SIGUSR1: stop listening, let open connections finish, bounded by
 * hard-stop-after), then SIGTERM and finally SIGKILL if it lingers.
 */
export async function stopHaproxy(pid: number, config: string): Promise<void> {
  const steps: Array<[NodeJS.Signals, number]> = [
    ['SIGUSR1', 6000],
    ['SIGTERM', 3000],
    ['SIGKILL', 3000],
  ];
  for (const [signal, waitMs] of steps) {
    if (!isHaproxyProcess(pid, config)) return;
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const deadline = Date.now() + waitMs;
    while (isHaproxyProcess(pid, config) && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 50));
    }
  }
}

/** haproxy.log → haproxy.stderr.log */
export function stderrFile(logFile: string): string {
  return logFile.replace(/(\.log)?$/, '.stderr.log');
}

function tail(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .slice(-3)
      .join(' | ');
  } catch {
    return '(no log)';
  }
}
