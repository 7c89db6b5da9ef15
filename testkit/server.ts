/** Test helpers: a real server on port 0 with a temp DATA_DIR, torn down by the test. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import type { ShutdownStep } from '../server/app.ts';
import { loadConfig, type Config } from '../server/config.ts';
import { createLogger, memorySink } from '../server/log.ts';
import { startServer, type RunningServer, type StartOptions } from '../server/server.ts';
import type { Teardown } from './teardown.ts';

export interface TestServer extends RunningServer {
  config: Config;
  dataDir: string;
  logs: string[];
  steps: ShutdownStep[];
}

export async function tempDir(t: Test, prefix = 'stereospot-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts a server on 127.0.0.1:0; `env` overrides config keys; closed at teardown unless closed before. */
export async function startTestServer(
  t: Test,
  options: { env?: Record<string, string>; pool?: StartOptions['pool']; dataDir?: string } = {},
): Promise<TestServer> {
  // A folder of our own is removed only after the server closed (its last writes finish in close()).
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'stereospot-')));
  const own = options.dataDir === undefined;
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ...options.env });
  const sink = memorySink(process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'info');
  if (process.env.TEST_LOG_LEVEL === 'debug') sink.write = (line) => process.stderr.write(line + '\n');
  const steps: ShutdownStep[] = [];
  const server = await startServer(config, {
    log: createLogger('server', sink),
    onShutdownStep: (s) => steps.push(s),
    ...(options.pool ? { pool: options.pool } : {}),
  });
  t.teardown(async () => {
    await server.close();
    if (own) await rm(dataDir, { recursive: true, force: true });
  });
  return { ...server, config, dataDir, logs: (sink as { lines: string[] }).lines, steps };
}

/**
 * A server for a benchmark: on 127.0.0.1:0 with a data folder of its own and quiet logs (`env` over this
 * process's environment); closed, then its folder removed, at `t`'s teardown.
 */
export async function startBenchServer(t: Teardown, env: Record<string, string> = {}): Promise<RunningServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-bench-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const config = loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ...env });
  const server = await startServer(config, { log: createLogger('server', memorySink('warn')) });
  t.teardown(() => server.close());
  return server;
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function until<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs `npm start`'s entry (server/main.ts) with `env` added until it exits (a refusal at start-up): its code and output. */
export async function runServerUntilExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const main = fileURLToPath(new URL('../server/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, output };
}
