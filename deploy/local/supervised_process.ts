/** A launched process (service_process.ts) as the Supervisor sees it. */
import type {ChildProcess} from 'node:child_process';
import type {Exit, Supervised} from './supervisor.js';

export function supervised(p: {
  child: ChildProcess;
  stop(): Promise<unknown>;
}): Supervised {
  const {child} = p;
  const exited = new Promise<Exit>(resolve => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({code: child.exitCode, signal: child.signalCode});
      return;
    }
    child.once('exit', (code, signal) => resolve({code, signal}));
  });
  return {
    pid: child.pid,
    exited,
    stop: async () => {
      await p.stop();
    },
  };
}
