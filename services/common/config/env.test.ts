import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import pg from 'pg';
import {ConfigError, EnvReader, redactUrl} from './env.js';

const dir = mkdtempSync(join(tmpdir(), 'agora-env-'));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

/** A file in the test's directory holding `content`; returns its path. */
function secret(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('EnvReader.secretFile()', () => {
  it('reads the file the variable names, without its final newline', () => {
    const env = new EnvReader({
      A_FILE: secret('a', 's3cret\n'),
      B_FILE: secret('b', 's3cret\r\n'),
      C_FILE: secret('c', 'no newline'),
      D_FILE: secret('d', ' spaces kept \n\n'),
    });
    expect(env.secretFile('A_FILE')).toBe('s3cret');
    expect(env.secretFile('B_FILE')).toBe('s3cret');
    expect(env.secretFile('C_FILE')).toBe('no newline');
    // Only the one final newline goes: what else the file holds is the secret.
    expect(env.secretFile('D_FILE')).toBe(' spaces kept \n');
  });

  it('is undefined when the variable is unset or empty', () => {
    const env = new EnvReader({EMPTY_FILE: ''});
    expect(env.secretFile('UNSET_FILE')).toBeUndefined();
    expect(env.secretFile('EMPTY_FILE')).toBeUndefined();
  });

  it('throws a ConfigError naming the variable when the file is missing', () => {
    const env = new EnvReader({X_FILE: join(dir, 'missing')});
    expect(() => env.secretFile('X_FILE')).toThrow(ConfigError);
    expect(() => env.secretFile('X_FILE')).toThrow(
      /^X_FILE names a file that cannot be read \(ENOENT\), got ".*missing"$/,
    );
  });

  it('throws a ConfigError naming the variable when the path is a directory or empty', () => {
    expect(() => new EnvReader({X_FILE: dir}).secretFile('X_FILE')).toThrow(
      /^X_FILE names a file that cannot be read \(EISDIR\)/,
    );
    const empty = new EnvReader({X_FILE: secret('empty', '\n')});
    expect(() => empty.secretFile('X_FILE')).toThrow(
      /^X_FILE names an empty file/,
    );
  });

  // root reads any file whatever its mode, so this proves something only as a user.
  (process.getuid?.() === 0 ? it.skip : it)(
    'throws a ConfigError naming the variable when the file is not readable',
    () => {
      const path = secret('locked', 'x\n');
      chmodSync(path, 0o000);
      expect(() => new EnvReader({X_FILE: path}).secretFile('X_FILE')).toThrow(
        /^X_FILE names a file that cannot be read \(EACCES\)/,
      );
    },
  );
});

describe('EnvReader.urlWithPasswordFile()', () => {
  const protocols = ['postgres:', 'postgresql:'];

  it('is the URL as it is when the password variable is unset', () => {
    const env = new EnvReader({DB_URL: 'postgres://app:inline@db:5432/agora'});
    expect(
      env.urlWithPasswordFile('DB_URL', 'postgres://x@y/z', protocols, 'PW'),
    ).toBe('postgres://app:inline@db:5432/agora');
  });

  it("puts the file's content in as the URL's password, replacing any", () => {
    const env = new EnvReader({
      DB_URL: 'postgres://app:old@db:5432/agora',
      PW: secret('pw', 'new\n'),
    });
    expect(
      env.urlWithPasswordFile('DB_URL', 'postgres://x@y/z', protocols, 'PW'),
    ).toBe('postgres://app:new@db:5432/agora');
  });

  it('applies the file to the fallback URL too', () => {
    const env = new EnvReader({PW: secret('pw2', 'pw\n')});
    expect(
      env.urlWithPasswordFile(
        'REDIS',
        'redis://127.0.0.1:6379/0',
        ['redis:'],
        'PW',
      ),
    ).toBe('redis://:pw@127.0.0.1:6379/0');
  });

  it('encodes a password with URL characters so the clients decode it intact', () => {
    const password = 'p@ss:w/rd%41#?& ü';
    const env = new EnvReader({
      DB_URL: 'postgres://app@db:5432/agora',
      PW: secret('odd', `${password}\n`),
    });
    const url = env.urlWithPasswordFile(
      'DB_URL',
      'postgres://x@y/z',
      protocols,
      'PW',
    );
    // What node-postgres (and pg-pool) will log in with.
    const parsed = new pg.Client({connectionString: url});
    expect(parsed.password).toBe(password);
    expect(parsed.user).toBe('app');
    expect(parsed.host).toBe('db');
    expect(parsed.database).toBe('agora');
    // What ioredis and MikroORM do: WHATWG URL, then decodeURIComponent.
    expect(decodeURIComponent(new URL(url).password)).toBe(password);
  });

  it('throws a ConfigError naming the password variable when its file is missing', () => {
    const env = new EnvReader({
      DB_URL: 'postgres://app@db:5432/agora',
      PW_FILE: join(dir, 'nope'),
    });
    expect(() =>
      env.urlWithPasswordFile(
        'DB_URL',
        'postgres://x@y/z',
        protocols,
        'PW_FILE',
      ),
    ).toThrow(/^PW_FILE names a file that cannot be read/);
  });
});

describe('redactUrl()', () => {
  it('hides the password and keeps the rest', () => {
    expect(redactUrl('amqp://agora:s3cret@rabbitmq:5672')).toBe(
      'amqp://agora:***@rabbitmq:5672',
    );
    expect(redactUrl('redis://:s3cret@127.0.0.1:6379/0')).toBe(
      'redis://:***@127.0.0.1:6379/0',
    );
    expect(redactUrl('postgres://agora_order@db:5432/agora')).toBe(
      'postgres://agora_order@db:5432/agora',
    );
  });

  it('hides the password of a string that is not a valid URL', () => {
    expect(redactUrl('postgres://u:s3cret@bad host/x')).toBe(
      'postgres://u:***@bad host/x',
    );
  });

  it('keeps passwords out of the ConfigError of a bad URL', () => {
    const env = new EnvReader({AMQP: 'http://guest:s3cret@rabbitmq:5672'});
    expect(() => env.url('AMQP', 'amqp://x', ['amqp:'])).toThrow(
      'AMQP must be a amqp:// URL, got "http://guest:***@rabbitmq:5672"',
    );
    const broken = new EnvReader({DB: 'postgres://u:s3cret@[bad/x'});
    expect(() => broken.url('DB', 'postgres://x', ['postgres:'])).toThrow(
      'DB must be a URL, got "postgres://u:***@[bad/x"',
    );
  });
});
