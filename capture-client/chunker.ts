/**
 * Captures with ffmpeg and cuts H.264 + AAC MP4 chunks that keep the capture's timestamps (chunk k
 * starts at ≈ k·N s) with a keyframe at every boundary. Completed chunks are reported in order: a
 * chunk is complete once ffmpeg lists it in its segment list (or ffmpeg has exited).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface CapturedChunk {
  index: number;
  path: string;
  bytes: number;
  /** When the chunk was seen complete (ms since epoch): the start of its latency. */
  cutAt: number;
}

export interface ChunkerOptions {
  ffmpeg: string;
  inputArgs: string[];
  mapArgs: string[];
  chunkSeconds: number;
  /** Poll interval for the segment list (ms). */
  pollMs?: number;
}

export class Chunker {
  readonly dir: Promise<string>;
  readonly #opts: ChunkerOptions;
  #child: ChildProcessWithoutNullStreams | undefined;
  #stderr = '';
  #seen = 0;
  #queue: CapturedChunk[] = [];
  #wake: (() => void) | undefined;
  #done = false;
  #error: Error | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #stopping = false;
  /** The poll in progress: polls never overlap (an overlap would report one chunk twice). */
  #polling: Promise<void> | null = null;

  constructor(options: ChunkerOptions) {
    this.#opts = options;
    this.dir = mkdtemp(path.join(os.tmpdir(), 'stereospot-capture-'));
  }

  /** Starts ffmpeg. Rejects if it cannot be spawned. */
  async start(): Promise<void> {
    const dir = await this.dir;
    const n = this.#opts.chunkSeconds;
    const args = [
      '-hide_banner', '-loglevel', 'error', '-y',
      ...this.#opts.inputArgs,
      ...this.#opts.mapArgs,
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
      '-force_key_frames', `expr:gte(t,n_forced*${n})`, '-sc_threshold', '0',
      '-c:a', 'aac', '-b:a', '128k',
      '-f', 'segment', '-segment_time', String(n), '-segment_format', 'mp4', '-reset_timestamps', '0',
      '-segment_list', path.join(dir, 'list.csv'), '-segment_list_type', 'csv',
      path.join(dir, 'chunk_%05d.mp4'),
    ];
    const child = spawn(this.#opts.ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    child.stderr.on('data', (d: Buffer) => (this.#stderr = (this.#stderr + d.toString()).slice(-4000)));
    child.stdin.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new Error(`could not start ffmpeg (${this.#opts.ffmpeg}): ${error.message}`)));
    });
    child.on('close', (code, signal) => {
      clearInterval(this.#timer);
      // One more poll, started after any running one, reads the list ffmpeg finished writing.
      void (this.#polling ?? Promise.resolve()).then(() => this.#poll()).then(() => {
        if (code !== 0 && signal === null && !this.#closed && !this.#stopping) {
          const last = this.#stderr.trim().split('\n').slice(-3).join(' | ');
          this.#error = new Error(`ffmpeg exited with code ${code}${last ? `: ${last}` : ''}`);
        }
        this.#done = true;
        clearInterval(this.#timer);
        this.#wake?.();
      });
    });
    this.#timer = setInterval(() => void this.#poll(), this.#opts.pollMs ?? 100);
  }

  #poll(): Promise<void> {
    this.#polling ??= this.#pollOnce().finally(() => (this.#polling = null));
    return this.#polling;
  }

  async #pollOnce(): Promise<void> {
    const dir = await this.dir;
    let text: string;
    try {
      text = await readFile(path.join(dir, 'list.csv'), 'utf8');
    } catch {
      return; // not written yet
    }
    const names = text.split('\n').map((l) => l.split(',')[0]!.trim()).filter((n) => /^chunk_\d{5}\.mp4$/.test(n));
    while (this.#seen < names.length) {
      const name = names[this.#seen]!;
      const file = path.join(dir, name);
      const size = (await stat(file).catch(() => undefined))?.size ?? 0;
      this.#queue.push({ index: this.#seen, path: file, bytes: size, cutAt: Date.now() });
      this.#seen++;
    }
    if (this.#queue.length > 0) this.#wake?.();
  }

  /** Completed chunks, in order, until capture ends; throws if ffmpeg failed. */
  async *chunks(): AsyncGenerator<CapturedChunk> {
    for (;;) {
      const next = this.#queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.#done) {
        if (this.#error) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  /** Asks ffmpeg to finish (the last chunk is finalised and listed). */
  stop(): void {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    this.#stopping = true;
    child.stdin.write('q');
    // If it does not react (e.g. blocked on a device), interrupt it.
    setTimeout(() => child.exitCode === null && child.kill('SIGINT'), 3000).unref();
  }

  /** Kills ffmpeg if still running and removes the temp folder. Safe twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#child && this.#child.exitCode === null) this.#child.kill('SIGKILL');
    this.#done = true;
    this.#wake?.();
    await rm(await this.dir, { recursive: true, force: true });
  }
}
