/**
 * Structured logging: one JSON object per line on stdout.
 *
 * Log ids (order, request, reservation, trace), never request or response bodies:
 * bodies can hold payment tokens and personal data.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
};

/** Ids and small facts attached to a log line. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** A logger bound to a service and, optionally, to ids that every line repeats. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields, err?: unknown): void;
  /**
   * A lifecycle line written whatever the level ("serving", "stopped"): supervisors
   * (the launcher, the tests, the rolling deploy) read it to know the process is ready.
   */
  lifecycle(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Where log lines go; tests pass an array-backed sink. */
export type LogSink = (line: string) => void;

const stdoutSink: LogSink = line => process.stdout.write(line + '\n');

/**
 * A hook that adds fields to every line (the telemetry module uses it to add the
 * active trace id without this module depending on OpenTelemetry).
 */
export type LogEnricher = () => LogFields | undefined;

/** Creates the root logger of a service. */
export function createLogger(
  service: string,
  level: LogLevel = 'info',
  sink: LogSink = stdoutSink,
  enrich?: LogEnricher,
): Logger {
  return makeLogger({svc: service}, ORDER[level], sink, enrich);
}

function makeLogger(
  bound: LogFields,
  min: number,
  sink: LogSink,
  enrich?: LogEnricher,
): Logger {
  const write = (
    level: LogLevel,
    msg: string,
    fields?: LogFields,
    err?: unknown,
    force = false,
  ) => {
    if (ORDER[level] < min && !force) return;
    const line: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      msg,
      ...bound,
      ...enrich?.(),
      ...fields,
    };
    if (err !== undefined) {
      line.err = err instanceof Error ? err.message : String(err);
      if (err instanceof Error && err.stack && level === 'error') {
        line.stack = err.stack;
      }
    }
    sink(JSON.stringify(line));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f, e) => write('error', m, f, e),
    lifecycle: (m, f) => write('info', m, f, undefined, true),
    child: f => makeLogger({...bound, ...f}, min, sink, enrich),
  };
}
