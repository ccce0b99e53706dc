/**
 * Typed configuration from environment variables.
 *
 * Every service parses its configuration once, in its composition root, and fails fast
 * with a message that names the variable, instead of failing later on first use.
 */
import {readFileSync} from 'node:fs';

/** Thrown when an environment variable is present but unusable. */
export class ConfigError extends Error {
  constructor(variable: string, problem: string, value: string) {
    super(`${variable} ${problem}, got ${JSON.stringify(value)}`);
    this.name = 'ConfigError';
  }
}

/**
 * `url` with its password, if it has one, replaced by `***`, for messages and logs; the
 * rest is left exactly as written. Works on strings that do not parse as URLs too: the
 * password is what lies between the first `:` and the last `@` of the authority.
 */
export function redactUrl(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url);
  if (!scheme) return url;
  const start = scheme[0].length;
  const authorityEnd = url.slice(start).search(/[/?#]/);
  const end = authorityEnd === -1 ? url.length : start + authorityEnd;
  const at = url.lastIndexOf('@', end - 1);
  if (at < start) return url;
  const colon = url.indexOf(':', start);
  if (colon === -1 || colon > at) return url;
  return `${url.slice(0, colon + 1)}***${url.slice(at)}`;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads typed values from an environment, with defaults that work on a dev machine. */
export class EnvReader {
  constructor(private readonly env: Env = process.env) {}

  /** The variables themselves, for readers that need presence rather than a value. */
  get raw(): Env {
    return this.env;
  }

  /** A non-empty string, or the default when unset or empty. */
  string(name: string, fallback: string): string {
    const raw = this.env[name];
    return raw === undefined || raw === '' ? fallback : raw;
  }

  /** An integer within [min, max]. */
  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^-?\d+$/.test(raw.trim())) {
      throw new ConfigError(name, 'must be an integer', raw);
    }
    const value = Number(raw);
    if (value < min || value > max) {
      throw new ConfigError(name, `must be between ${min} and ${max}`, raw);
    }
    return value;
  }

  /** A TCP port, 1 to 65535 (0 lets the OS pick, for tests). */
  port(name: string, fallback: number): number {
    return this.int(name, fallback, 0, 65535);
  }

  /** A URL with one of the given protocols, e.g. ["postgres:", "postgresql:"]. */
  url(name: string, fallback: string, protocols: string[]): string {
    const raw = this.string(name, fallback);
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(name, 'must be a URL', redactUrl(raw));
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(
        name,
        `must be a ${protocols.map(p => p.replace(':', '://')).join(' or ')} URL`,
        redactUrl(raw),
      );
    }
    return raw;
  }

  /**
   * The content of the file the variable `name` names (a Docker secret such as
   * /run/secrets/redis_password), without its final newline; undefined when `name` is
   * unset. A file that is named but cannot be read, or is empty, is a ConfigError
   * naming `name` (and the path, never the content), so a service stops at start.
   */
  secretFile(name: string): string | undefined {
    const path = this.env[name];
    if (path === undefined || path === '') return undefined;
    let content: string;
    try {
      content = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as {code?: string}).code ?? String(err);
      throw new ConfigError(
        name,
        `names a file that cannot be read (${code})`,
        path,
      );
    }
    // Exactly one final newline (as `echo` and editors write it) is not part of it.
    const secret = content.replace(/\r?\n$/, '');
    if (secret === '') throw new ConfigError(name, 'names an empty file', path);
    return secret;
  }

  /**
   * A URL as `url()` reads it, whose password is the content of the file named by the
   * variable `passwordFile` when that is set (replacing any password in the URL), so
   * the URL itself can be written in plain configuration.
   */
  urlWithPasswordFile(
    name: string,
    fallback: string,
    protocols: string[],
    passwordFile: string,
  ): string {
    const raw = this.url(name, fallback, protocols);
    const password = this.secretFile(passwordFile);
    if (password === undefined) return raw;
    const url = new URL(raw);
    if (url.host === '') {
      throw new ConfigError(
        name,
        `must name a host to take a password from ${passwordFile}`,
        redactUrl(raw),
      );
    }
    // Percent-encoded, so a password with @, :, / or % survives: pg, MikroORM and
    // ioredis decode it with decodeURIComponent, amqplib with `unescape`, which gets
    // only ASCII right (the generated passwords are hex: deploy/compose/init-secrets.sh).
    url.password = encodeURIComponent(password);
    return url.toString();
  }

  /** A host:port address. */
  address(name: string, fallback: string): string {
    const raw = this.string(name, fallback);
    if (!/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(raw)) {
      throw new ConfigError(name, 'must be host:port', raw);
    }
    return raw;
  }

  /** One of a fixed set of words. */
  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.string(name, fallback);
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new ConfigError(name, `must be one of ${allowed.join(', ')}`, raw);
    }
    return raw as T;
  }

  /** A boolean written as true/false/1/0. */
  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
    throw new ConfigError(name, 'must be true or false', raw);
  }
}
