/** Runs the capture CLI as a person would (a child process) and collects its `--json` events. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../capture-client/cli.ts', import.meta.url));

export interface CaptureRun {
  code: number | null;
  events: Array<Record<string, unknown>>;
  stderr: string;
}

/** `args` should include `--json`; resolves when the CLI exits. */
export function runCapture(args: string[]): Promise<CaptureRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const events = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, events, stderr: err });
    });
  });
}
