/**
 * Finding and running ffmpeg. Search order: FFMPEG_PATH → `ffmpeg` on PATH → the binary shipped
 * in the `@ffmpeg-installer/ffmpeg` npm package. The caller logs which one is used.
 */
import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface FfmpegLocation {
  path: string;
  source: 'FFMPEG_PATH' | 'PATH' | 'npm-package';
  version: string;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (existsSync(candidate) && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function packaged(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const file = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
    if (!existsSync(file)) return undefined;
    // npm 11 does not run the package's postinstall `chmod +x`; do it ourselves.
    if (!isExecutable(file)) chmodSync(file, 0o755);
    return file;
  } catch {
    return undefined;
  }
}

/** Runs `ffmpeg -version` and returns its first line's version word. */
async function versionOf(file: string): Promise<string> {
  const { stdout } = await run(file, ['-hide_banner', '-version'], { allowFailure: true });
  return /ffmpeg version (\S+)/.exec(stdout.toString())?.[1] ?? 'unknown';
}

/** Finds ffmpeg; `configured` is FFMPEG_PATH (must exist and be executable when set). */
export async function locateFfmpeg(configured: string | null | undefined): Promise<FfmpegLocation> {
  if (configured) {
    if (!existsSync(configured)) throw new Error(`FFMPEG_PATH=${configured} does not exist`);
    if (!isExecutable(configured)) throw new Error(`FFMPEG_PATH=${configured} is not executable`);
    return { path: configured, source: 'FFMPEG_PATH', version: await versionOf(configured) };
  }
  const fromPath = onPath('ffmpeg');
  if (fromPath) return { path: fromPath, source: 'PATH', version: await versionOf(fromPath) };
  const fromPackage = packaged();
  if (fromPackage) return { path: fromPackage, source: 'npm-package', version: await versionOf(fromPackage) };
  throw new Error('ffmpeg not found: set FFMPEG_PATH, install ffmpeg (apt-get install ffmpeg), or npm ci');
}

export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Keeps the last `max` characters of a process's stderr (bounded memory). */
export class StderrTail {
  #text = '';
  constructor(private readonly max = 8192) {}
  push(chunk: Buffer | string): void {
    this.#text = (this.#text + chunk.toString()).slice(-this.max);
  }
  get text(): string {
    return this.#text;
  }
  /** The last few non-empty lines, for error messages. */
  lastLines(n = 3): string {
    return this.#text.trim().split('\n').slice(-n).join(' | ');
  }
}

/** Runs ffmpeg to completion, collecting stdout and (bounded) stderr. */
export function run(file: string, args: string[], options: { allowFailure?: boolean; input?: Uint8Array } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err = new StderrTail(64 * 1024);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.stdin.on('error', () => {}); // ffmpeg may exit before reading all input
    child.stdin.end(options.input);
    child.on('close', (code) => {
      const result = { code, stdout: Buffer.concat(out), stderr: err.text };
      if (code !== 0 && !options.allowFailure) reject(new Error(`ffmpeg exited with ${code}: ${err.lastLines()}`));
      else resolve(result);
    });
  });
}
