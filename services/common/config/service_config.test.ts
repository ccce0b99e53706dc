import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {ConfigError, EnvReader} from './env.js';
import {DEFAULT_DATABASE_URL, readServiceConfig} from './service_config.js';

const dir = mkdtempSync(join(tmpdir(), 'agora-config-'));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

function secret(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

// Authentication is not what these tests are about: off, and development.
const read = (vars: Record<string, string>) =>
  readServiceConfig('payment', new EnvReader({AGORA_AUTH: 'off', ...vars}));

/** The variables docker-compose.yml gives Payment, with secrets in `dir`. */
const compose = () => ({
  AGORA_DATABASE_URL: 'postgres://agora_payment@postgres:5432/agora',
  AGORA_DATABASE_PASSWORD_FILE: secret('pg_payment_password', 'pay-pw\n'),
  AGORA_MIGRATION_DATABASE_URL: 'postgres://agora_owner@postgres:5432/agora',
  AGORA_MIGRATION_DATABASE_PASSWORD_FILE: secret(
    'pg_owner_password',
    'own-pw\n',
  ),
  AGORA_REDIS_URL: 'redis://redis:6379/0',
  AGORA_REDIS_PASSWORD_FILE: secret('redis_password', 'redis-pw\n'),
  AGORA_AMQP_URL: 'amqp://agora@rabbitmq:5672',
  AGORA_AMQP_PASSWORD_FILE: secret('amqp_password', 'amqp-pw\n'),
});

describe('readServiceConfig()', () => {
  it('migrates with the runtime URL when no migration URL is set, as on a dev machine', () => {
    const config = read({});
    expect(config.databaseUrl).toEqual({
      runtime: DEFAULT_DATABASE_URL,
      migration: DEFAULT_DATABASE_URL,
    });
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379/0');
    expect(config.amqpUrl).toBe('amqp://guest:guest@127.0.0.1:5672');
  });

  it('takes every password from its file, each into its own URL', () => {
    const config = read(compose());
    expect(config.databaseUrl).toEqual({
      runtime: 'postgres://agora_payment:pay-pw@postgres:5432/agora',
      migration: 'postgres://agora_owner:own-pw@postgres:5432/agora',
    });
    expect(config.redisUrl).toBe('redis://:redis-pw@redis:6379/0');
    expect(config.amqpUrl).toBe('amqp://agora:amqp-pw@rabbitmq:5672');
  });

  it.each([
    'AGORA_DATABASE_PASSWORD_FILE',
    'AGORA_MIGRATION_DATABASE_PASSWORD_FILE',
    'AGORA_REDIS_PASSWORD_FILE',
    'AGORA_AMQP_PASSWORD_FILE',
  ])(
    'stops with a ConfigError naming %s when its file cannot be read',
    name => {
      const vars = {...compose(), [name]: join(dir, 'not-there')};
      expect(() => read(vars)).toThrow(ConfigError);
      expect(() => read(vars)).toThrow(
        new RegExp(`^${name} names a file that cannot be read`),
      );
    },
  );

  it('refuses a migration password file without a migration URL', () => {
    expect(() =>
      read({AGORA_MIGRATION_DATABASE_PASSWORD_FILE: secret('orphan', 'x\n')}),
    ).toThrow(
      /^AGORA_MIGRATION_DATABASE_PASSWORD_FILE is set but AGORA_MIGRATION_DATABASE_URL is not/,
    );
  });

  it('names the migration URL variable when it is not a PostgreSQL URL', () => {
    expect(() =>
      read({AGORA_MIGRATION_DATABASE_URL: 'mysql://owner:pw@db/agora'}),
    ).toThrow(
      'AGORA_MIGRATION_DATABASE_URL must be a postgres:// or postgresql:// URL, got "mysql://owner:***@db/agora"',
    );
  });
});
