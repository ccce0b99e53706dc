/**
 * Typed configuration from environment variables.
 *
 * Every service parses its configuration once, in its composition root, and fails fast
 * with a message that names the variable, instead of failing later on first use.
 */

/** Thrown when an environment variable is present but unusable. */
export class ConfigError extends Error {
  constructor(variable: string, problem: string, value: string) {
    super(`${variable} ${problem}, got ${JSON.stringify(value)}`);
    this.name = 'ConfigError';
  }
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
      throw new ConfigError(name, 'must be a URL', raw);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(
        name,
        `must be a ${protocols.map(p => p.replace(':', '://')).join(' or ')} URL`,
        raw,
      );
    }
    return raw;
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
