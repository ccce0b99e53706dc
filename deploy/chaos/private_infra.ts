/**
 * The chaos suite's own PostgreSQL, Redis and RabbitMQ, started from scratch under
 * $TMPDIR/agora-chaos and thrown away at the end, so the faults it injects (terminated
 * connections, restarts, stops) never reach the shared instances on 5432/6379/5672.
 *
 * Needs root: PostgreSQL and RabbitMQ run as their Debian system users (postgres,
 * rabbitmq), which must own their directories.
 */
import {execFileSync, spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, rmSync, writeFileSync} from 'node:fs';
import {createConnection} from 'node:net';
import {join} from 'node:path';

export const CHAOS_PG_PORT = 5433;
export const CHAOS_REDIS_PORT = 6390;
export const CHAOS_AMQP_PORT = 5673;
const CHAOS_AMQP_DIST_PORT = 25673;
const RABBIT_NODE = 'agora_chaos@localhost';
const PG_BIN = '/usr/lib/postgresql/15/bin';

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** Resolves true once something accepts TCP connections on 127.0.0.1:`port`. */
export function listening(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = createConnection(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function waitPort(what: string, port: number, up: boolean, ms: number) {
  const deadline = Date.now() + ms;
  while ((await listening(port)) !== up) {
    if (Date.now() > deadline)
      throw new Error(
        `${what} ${up ? 'did not come up' : 'did not go down'} on 127.0.0.1:${port} within ${ms} ms`,
      );
    await sleep(100);
  }
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  return execFileSync(cmd, args, {
    env: env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
}

export class PrivateInfra {
  readonly pgDir: string;
  readonly redisDir: string;
  readonly rabbitDir: string;

  constructor(readonly stateDir: string) {
    this.pgDir = join(stateDir, 'pg');
    this.redisDir = join(stateDir, 'redis');
    this.rabbitDir = join(stateDir, 'rabbitmq');
  }

  get adminPgUrl(): string {
    return `postgres://postgres@127.0.0.1:${CHAOS_PG_PORT}/postgres`;
  }
  get redisUrl(): string {
    return `redis://127.0.0.1:${CHAOS_REDIS_PORT}/0`;
  }
  get amqpUrl(): string {
    return `amqp://guest:guest@127.0.0.1:${CHAOS_AMQP_PORT}`;
  }

  /** Refuses to start when root is missing or a port is taken by someone else. */
  async preflight(): Promise<void> {
    if (process.getuid?.() !== 0)
      throw new Error(
        'the chaos suite needs root (it runs PostgreSQL and RabbitMQ as their system users)',
      );
    for (const bin of [join(PG_BIN, 'initdb'), '/usr/bin/redis-server'])
      if (!existsSync(bin)) throw new Error(`${bin} is missing`);
  }

  /** Stops whatever a previous (interrupted) run left behind and wipes its state. */
  async cleanLeftovers(): Promise<void> {
    await this.stopAll();
    rmSync(this.stateDir, {recursive: true, force: true});
  }

  async startAll(): Promise<void> {
    for (const [what, port] of [
      ['PostgreSQL', CHAOS_PG_PORT],
      ['Redis', CHAOS_REDIS_PORT],
      ['RabbitMQ', CHAOS_AMQP_PORT],
    ] as const)
      if (await listening(port))
        throw new Error(
          `port ${port} (the chaos suite's private ${what}) is already in use by another process`,
        );
    // Readable by all: PostgreSQL and RabbitMQ run as their own users beneath it.
    mkdirSync(this.stateDir, {recursive: true, mode: 0o755});
    this.initPostgres();
    await Promise.all([
      this.startPostgres(),
      this.startRedis(),
      this.startRabbit(),
    ]);
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled([
      this.stopPostgres(),
      this.stopRedis(),
      this.stopRabbit(),
    ]);
  }

  // --- PostgreSQL: initdb into <state>/pg, pg_ctl as the postgres user ---------

  private asPostgres(args: string[]): string {
    return run('runuser', ['-u', 'postgres', '--', ...args]);
  }

  private initPostgres(): void {
    mkdirSync(this.pgDir, {recursive: true});
    run('chown', ['postgres:postgres', this.pgDir]);
    this.asPostgres([
      join(PG_BIN, 'initdb'),
      '-D',
      join(this.pgDir, 'data'),
      '--auth=trust',
      '-U',
      'postgres',
      '--no-sync',
    ]);
    // Fast and throwaway: no fsync, TCP on 127.0.0.1 only, no Unix socket (whose
    // path would depend on where the worktree lives).
    writeFileSync(
      join(this.pgDir, 'data', 'postgresql.auto.conf'),
      [
        `port = ${CHAOS_PG_PORT}`,
        "listen_addresses = '127.0.0.1'",
        "unix_socket_directories = ''",
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'max_connections = 200',
        'shared_buffers = 128MB',
        '',
      ].join('\n'),
    );
  }

  async startPostgres(): Promise<void> {
    this.asPostgres([
      join(PG_BIN, 'pg_ctl'),
      '-D',
      join(this.pgDir, 'data'),
      '-l',
      join(this.pgDir, 'postgres.log'),
      '-w',
      '-t',
      '60',
      'start',
    ]);
    await waitPort('PostgreSQL', CHAOS_PG_PORT, true, 30_000);
  }

  async stopPostgres(): Promise<void> {
    if (!existsSync(join(this.pgDir, 'data', 'postmaster.pid'))) return;
    spawnSync(
      'runuser',
      [
        '-u',
        'postgres',
        '--',
        join(PG_BIN, 'pg_ctl'),
        '-D',
        join(this.pgDir, 'data'),
        '-m',
        'fast',
        '-w',
        'stop',
      ],
      {stdio: 'ignore'},
    );
  }

  async restartPostgres(): Promise<void> {
    this.asPostgres([
      join(PG_BIN, 'pg_ctl'),
      '-D',
      join(this.pgDir, 'data'),
      '-l',
      join(this.pgDir, 'postgres.log'),
      '-m',
      'fast',
      '-w',
      '-t',
      '60',
      'restart',
    ]);
    await waitPort('PostgreSQL', CHAOS_PG_PORT, true, 30_000);
  }

  // --- Redis: no persistence, so a restart comes back empty (as after a crash) ------

  async startRedis(): Promise<void> {
    mkdirSync(this.redisDir, {recursive: true});
    run('redis-server', [
      '--daemonize',
      'yes',
      '--bind',
      '127.0.0.1',
      '--port',
      String(CHAOS_REDIS_PORT),
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.redisDir,
      '--pidfile',
      join(this.redisDir, 'redis.pid'),
      '--logfile',
      join(this.redisDir, 'redis.log'),
    ]);
    await waitPort('Redis', CHAOS_REDIS_PORT, true, 15_000);
  }

  async stopRedis(): Promise<void> {
    if (!(await listening(CHAOS_REDIS_PORT))) return;
    spawnSync(
      'redis-cli',
      ['-p', String(CHAOS_REDIS_PORT), 'shutdown', 'nosave'],
      {stdio: 'ignore'},
    );
    await waitPort('Redis', CHAOS_REDIS_PORT, false, 15_000);
  }

  // --- RabbitMQ: a second node with its own name, ports, data and plugins -----------

  private rabbitEnv(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      RABBITMQ_NODENAME: RABBIT_NODE,
      RABBITMQ_NODE_PORT: String(CHAOS_AMQP_PORT),
      RABBITMQ_DIST_PORT: String(CHAOS_AMQP_DIST_PORT),
      RABBITMQ_MNESIA_BASE: join(this.rabbitDir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.rabbitDir, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.rabbitDir, 'enabled_plugins'),
      // Not the shared node's files: /etc/rabbitmq names its node and port 5672.
      RABBITMQ_CONFIG_FILE: join(this.rabbitDir, 'rabbitmq.conf'),
      RABBITMQ_CONF_ENV_FILE: join(this.rabbitDir, 'rabbitmq-env.conf'),
      RABBITMQ_PID_FILE: join(this.rabbitDir, 'rabbitmq.pid'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
    };
  }

  async startRabbit(): Promise<void> {
    if (!existsSync(join(this.rabbitDir, 'rabbitmq.conf'))) {
      mkdirSync(join(this.rabbitDir, 'mnesia'), {recursive: true});
      mkdirSync(join(this.rabbitDir, 'log'), {recursive: true});
      writeFileSync(join(this.rabbitDir, 'enabled_plugins'), '[].\n');
      writeFileSync(
        join(this.rabbitDir, 'rabbitmq.conf'),
        `listeners.tcp.local = 127.0.0.1:${CHAOS_AMQP_PORT}\n`,
      );
      writeFileSync(
        join(this.rabbitDir, 'rabbitmq-env.conf'),
        'ERL_EPMD_ADDRESS=127.0.0.1\n',
      );
      run('chown', ['-R', 'rabbitmq:rabbitmq', this.rabbitDir]);
    }
    const env = this.rabbitEnv();
    run('rabbitmq-server', ['-detached'], env);
    run(
      'rabbitmqctl',
      [
        '-n',
        RABBIT_NODE,
        'wait',
        join(this.rabbitDir, 'rabbitmq.pid'),
        '--timeout',
        '90',
      ],
      env,
    );
    await waitPort('RabbitMQ', CHAOS_AMQP_PORT, true, 30_000);
  }

  async stopRabbit(): Promise<void> {
    if (!existsSync(join(this.rabbitDir, 'rabbitmq.pid'))) return;
    spawnSync(
      'rabbitmqctl',
      ['-n', RABBIT_NODE, 'stop', join(this.rabbitDir, 'rabbitmq.pid')],
      {env: this.rabbitEnv(), stdio: 'ignore', timeout: 60_000},
    );
    rmSync(join(this.rabbitDir, 'rabbitmq.pid'), {force: true});
    await waitPort('RabbitMQ', CHAOS_AMQP_PORT, false, 30_000);
  }
}
