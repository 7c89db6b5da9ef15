/**
 * One logger per module; child loggers carry context (session_id, chunk_index) on every line.
 * Lines are `time level [module] message key=value…` on stderr, or JSON with LOG_FORMAT=json.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LogSink {
  level: LogLevel;
  json: boolean;
  write(line: string): void;
}

/** Where loggers write unless given a sink: stderr, as `configureLogging` says (the entry points call it first). */
const defaultSink: LogSink = {
  level: 'info',
  json: false,
  write: (line) => process.stderr.write(line + '\n'),
};

/** Sets the default sink's level and format (config.ts `loggingFromEnvironment`): every logger on it follows. */
export function configureLogging(settings: { level: LogLevel; json: boolean }): void {
  defaultSink.level = settings.level;
  defaultSink.json = settings.json;
}

function format(value: unknown): string {
  const s = String(value);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

/** Turns an unknown thrown value into a one-line message. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A logger for `module`, writing to `sink` (stderr by default; tests pass their own). */
export function createLogger(module: string, sink: LogSink = defaultSink, base: LogFields = {}): Logger {
  const emit = (level: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields) => {
    if (RANK[level] < RANK[sink.level]) return;
    const all = { ...base, ...fields };
    if (sink.json) {
      sink.write(JSON.stringify({ time: new Date().toISOString(), level, module, message, ...all }));
      return;
    }
    const extra = Object.entries(all)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${format(v)}`)
      .join(' ');
    sink.write(`${new Date().toISOString()} ${level.padEnd(5)} [${module}] ${message}${extra ? ' ' + extra : ''}`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(module, sink, { ...base, ...fields }),
  };
}

/** A sink that keeps lines in memory (tests) at the given level. */
export function memorySink(level: LogLevel = 'debug'): LogSink & { lines: string[] } {
  const lines: string[] = [];
  return { level, json: false, lines, write: (line) => lines.push(line) };
}
