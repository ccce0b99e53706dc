/**
 * The integration suites set up at load time (top-level await) rather than in
 * beforeAll: when the setup fails, jest reports the suite as failed once, with the
 * setup's own error, instead of repeating it for every test and adding TypeErrors from
 * teardowns that find nothing set up.
 */
import {spawnSync} from 'node:child_process';
import {join} from 'node:path';
import {repoRoot} from '../process/service_process.js';

describe('a suite whose setup fails', () => {
  it('is reported once, with the setup error, and nothing else', () => {
    const run = spawnSync(
      join(repoRoot(), 'node_modules', '.bin', 'jest'),
      [
        '--rootDir',
        repoRoot(),
        '--testMatch',
        '**/testing/fixtures/failing_setup.fixture.ts',
        '--testPathIgnorePatterns',
        '/node_modules/',
        '/dist/',
      ],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          NODE_OPTIONS: '--experimental-vm-modules',
          // PostgreSQL on a port where nothing listens: the setup's first step fails.
          AGORA_TEST_PG: 'postgres://postgres@127.0.0.1:9/postgres',
        },
        timeout: 60_000,
      },
    );
    const output = run.stdout + run.stderr;
    expect(run.status).toBe(1);
    expect(output.match(/Test suite failed to run/g)).toHaveLength(1);
    expect(
      output.match(/ECONNREFUSED 127\.0\.0\.1:9/g)?.length,
    ).toBeGreaterThan(0);
    expect(output).not.toMatch(/TypeError/);
    expect(output).not.toMatch(/never runs/);
  }, 60_000);
});
