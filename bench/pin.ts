/**
 * Core pinning for the two-process benchmarks (control, fanout): the measured server process on the
 * first core, the load generator (this process) on the second, so neither steals the other's CPU and the
 * generator's own cost shows up apart from the server's. Only where `taskset` exists and there are two
 * cores; otherwise everything runs unpinned and the result says so.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { createInterface, type Interface } from 'node:readline';

const TASKSET = '/usr/bin/taskset';

export function canPin(): boolean {
  return existsSync(TASKSET) && os.cpus().length >= 2;
}

export interface Target {
  child: ChildProcess;
  /** Its standard output, line by line (the first line already read). */
  lines: Interface;
  firstLine: string;
}

/** Starts `command` (pinned to core 0 where possible); resolves once it printed its first line. */
export async function spawnTarget(command: string[], cwd: string, pin: boolean): Promise<Target> {
  const [file, ...args] = pin ? [TASKSET, '-c', '0', ...command] : command;
  const child = spawn(file!, args, { cwd, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  try {
    const firstLine = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the benchmark target exited (${code}) before it was ready`)));
    });
    return { child, lines, firstLine };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/** Moves this process (all its threads) to core 1; returns the function that puts it back. */
export function pinSelfToSecondCore(): () => void {
  const restore = execFileSync(TASKSET, ['-p', String(process.pid)], { encoding: 'utf8' })
    .trim()
    .split(':')
    .pop()!
    .trim();
  execFileSync(TASKSET, ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  return () => execFileSync(TASKSET, ['-a', '-p', restore, String(process.pid)], { stdio: 'ignore' });
}

/** Stops a target started by spawnTarget and waits for it to exit. */
export async function stopTarget(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
