/** Runs the capture CLI as a person would (a child process) and collects its `--json` events. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../capture-client/cli.ts', import.meta.url));

export interface CaptureRun {
  code: number | null;
  events: Array<Record<string, unknown>>;
  stderr: string;
}

/** `args` should include `--json`; `env` is added to this process's; resolves when the CLI exits. */
export function runCapture(args: string[], env: Record<string, string> = {}): Promise<CaptureRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const events = out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, events, stderr: err });
    });
  });
}

export interface LiveCapture {
  /** Every `--json` event so far, in order. */
  events: Array<Record<string, unknown>>;
  /** Resolves with the first event of that name. */
  event(name: string): Promise<Record<string, unknown>>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stderr(): string;
  /** Asks the CLI to stop as Ctrl-C would (it ends the session cleanly); `signals`: sent at once, in order. */
  stop(...signals: NodeJS.Signals[]): void;
}

/** The session the CLI created (its `session` event), or why it exited before creating one. */
export async function sessionOf(capture: LiveCapture): Promise<string> {
  const exited = capture.exited.then((code) => {
    throw new Error(`the capture client exited (${code}) before creating a session: ${capture.stderr().trim().slice(-500)}`);
  });
  const session = await Promise.race([capture.event('session'), exited]);
  return String(session.session_id);
}

/** Starts the capture CLI and follows its events while it runs (`args` should include `--json`; `env` is added to this process's). */
export function startCapture(args: string[], env: Record<string, string> = {}): LiveCapture {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const events: Array<Record<string, unknown>> = [];
  const waiters: Array<{ name: string; resolve: (e: Record<string, unknown>) => void }> = [];
  let pending = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines.filter(Boolean)) {
      const event = JSON.parse(line) as Record<string, unknown>;
      events.push(event);
      for (const w of waiters.filter((w) => w.name === event.event)) w.resolve(event);
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    events,
    event: (name) => {
      const seen = events.find((e) => e.event === name);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ name, resolve }));
    },
    exited,
    stderr: () => err,
    stop: (...signals) => {
      for (const signal of signals.length ? signals : (['SIGINT'] as const)) child.kill(signal);
    },
  };
}
