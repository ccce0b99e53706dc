/**
 * The supervisor with a real service process: a kill -9 of a child of the launcher
 * (Pricing, started as npm start starts it) is followed by the same service serving
 * again on the same port, restarted by the supervisor alone.
 */
import {join} from 'node:path';
import {freshEnvironment} from '../../services/common/testing/isolation.js';
import {
  checkHealth,
  localDevIssuer,
  repoRoot,
  restartServiceProcess,
  startServiceProcess,
  type ServiceProcess,
} from '../../services/common/process/service_process.js';
import {supervised} from './supervised_process.js';
import {Supervisor} from './supervisor.js';

const isolated = await freshEnvironment(
  'agora_test_supervisor',
  'agoratest-supervisor',
);
const issuer = await localDevIssuer();
const env = {
  ...isolated.env,
  ...issuer.env,
  AGORA_LOG_LEVEL: 'info',
  AGORA_DRAIN_MS: '100',
  AGORA_TRACING: 'off',
  AGORA_PRICING_PORT: '0',
  AGORA_PRICING_HTTP_PORT: '0',
};
const logFile = join(
  repoRoot(),
  '.agora',
  'test-logs',
  'supervisor',
  'pricing.log',
);
let current: ServiceProcess = await startServiceProcess(
  'pricing',
  env,
  logFile,
);
const lines: string[] = [];
const supervisor = new Supervisor(
  'pricing',
  async () => {
    current = await restartServiceProcess(current, env, logFile);
    return supervised(current);
  },
  {log: line => lines.push(line), initialDelayMs: 200},
);
supervisor.watch(supervised(current));
afterAll(() => supervisor.stop(), 30_000);

async function until(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise(r => setTimeout(r, 100));
  }
}

describe('npm start\'s supervisor with a real service (issue 8: "the local start command stops all five services when one exits")', () => {
  it('restarts a service killed with SIGKILL on the same port and logs which one exited how', async () => {
    const first = current;
    const pid = first.child.pid!;
    expect(await checkHealth(first.grpcAddress)).toBe(true);

    process.kill(pid, 'SIGKILL');
    await until(() => lines.some(l => l.includes('serving again')), 60_000);

    expect(lines[0]).toMatch(
      new RegExp(
        `^agora: pricing \\(pid ${pid}\\) killed by SIGKILL after [\\d.]+ s; restarting it in 0\\.2 s$`,
      ),
    );
    expect(current).not.toBe(first);
    expect(current.child.pid).not.toBe(pid);
    expect(current.grpcAddress).toBe(first.grpcAddress);
    expect(await checkHealth(current.grpcAddress)).toBe(true);
  }, 90_000);
});
