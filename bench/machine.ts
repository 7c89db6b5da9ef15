/** The machine a benchmark ran on, for the report: figures mean nothing without it. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  /** The GPU's name when nvidia-smi finds one. */
  gpu: string | null;
}

export function describeMachine(): Machine {
  let name = `${os.type()} ${os.release()}`;
  try {
    name = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? name;
  } catch {
    // not Linux: the kernel's name will do
  }
  let gpu: string | null = null;
  try {
    gpu =
      execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split('\n')[0]!
        .trim() || null;
  } catch {
    // no NVIDIA driver
  }
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: name,
    node: process.version,
    gpu,
  };
}
