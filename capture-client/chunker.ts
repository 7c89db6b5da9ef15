/**
 * Captures with ffmpeg and cuts H.264 + AAC MP4 chunks that keep the capture's timestamps, with a
 * keyframe at every boundary. Completed chunks are reported in order: a chunk is complete once ffmpeg
 * lists it in its segment list (or ffmpeg has exited); the folder is watched, so that is noticed
 * within milliseconds, with a slow poll as a safety net.
 *
 * Capture time travels with the media: media time t was captured at `origin + t` on the wall clock,
 * where `origin` (µs) is read just before ffmpeg starts and written into every chunk's metadata
 * (`stereospot_capture_origin`) for the server's PROGRAM-DATE-TIME and the player's latency figure.
 * How picture and sound get onto that one timeline is the stream plan's business (timeline.ts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CAPTURE_ORIGIN_TAG } from '../protocol/keys.ts';
import { captureVideoArgs } from './encoding.ts';
import { timelineArgs, type StreamPlan } from './timeline.ts';

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
  /** The streams to encode and the clock they share. */
  plan: StreamPlan;
  chunkSeconds: number;
  /** Safety-net poll interval for the segment list (ms); changes are watched as they happen. */
  pollMs?: number;
  /**
   * The live path: the same encode also goes out frame by frame, as fragmented MP4 (one fragment per
   * frame) on ffmpeg's stdout, to this sink (live-feed.ts). The chunks are exactly as without it.
   */
  live?: (bytes: Uint8Array) => void;
}

/**
 * One output of ffmpeg's tee muxer: `[key=value:…]file`. ffmpeg unescapes the slave's text twice — once
 * splitting the slaves at `|`, once more reading the options at `:` — so a value is escaped for both and
 * a file name for the first (a temp folder may hold a colon or a backslash, e.g. on Windows).
 */
export function teeSlave(options: Record<string, string>, file: string): string {
  const first = (v: string) => v.replace(/[\\|']/g, '\\$&');
  const second = (v: string) => v.replace(/[\\:']/g, '\\$&');
  const values = Object.entries(options).map(([key, value]) => {
    if (value.includes(']')) throw new Error(`ffmpeg's tee muxer cannot take "]" in ${key} (${value})`);
    return `${key}=${first(second(value))}`;
  });
  return `[${values.join(':')}]${first(file)}`;
}

export class Chunker {
  readonly dir: Promise<string>;
  /** Wall-clock µs of media time 0 (set when capture starts). */
  originMicros = 0;
  readonly #opts: ChunkerOptions;
  #child: ChildProcessWithoutNullStreams | undefined;
  #stderr = '';
  #seen = 0;
  #queue: CapturedChunk[] = [];
  #wake: (() => void) | undefined;
  #done = false;
  #error: Error | undefined;
  #timer: NodeJS.Timeout | undefined;
  #watcher: FSWatcher | undefined;
  #closed = false;
  #stopping = false;
  /** The poll in progress: polls never overlap (an overlap would report one chunk twice). */
  #polling: Promise<void> | null = null;
  #pollAgain = false;

  constructor(options: ChunkerOptions) {
    this.#opts = options;
    this.dir = mkdtemp(path.join(os.tmpdir(), 'stereospot-capture-'));
  }

  /** Starts ffmpeg. Rejects if it cannot be spawned. */
  async start(): Promise<void> {
    const dir = await this.dir;
    const n = this.#opts.chunkSeconds;
    this.originMicros = Date.now() * 1000;
    const args = [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      ...this.#opts.inputArgs,
      ...timelineArgs(this.#opts.plan, this.originMicros),
      ...captureVideoArgs(n),
      '-c:a',
      'aac',
      '-b:a',
      '128k',
      '-metadata',
      `${CAPTURE_ORIGIN_TAG}=${this.originMicros}`,
      ...(this.#opts.live ? this.#teeArgs(dir) : this.#chunkArgs(dir)),
    ];
    const child = spawn(this.#opts.ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    child.stderr.on('data', (d: Buffer) => (this.#stderr = (this.#stderr + d.toString()).slice(-4000)));
    const live = this.#opts.live;
    if (live) child.stdout.on('data', (d: Buffer) => live(d));
    child.stdin.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new Error(`could not start ffmpeg (${this.#opts.ffmpeg}): ${error.message}`)));
    });
    child.on('close', (code, signal) => {
      clearInterval(this.#timer);
      this.#watcher?.close();
      // One more poll, started after any running one, reads the list ffmpeg finished writing.
      void (this.#polling ?? Promise.resolve())
        .then(() => this.#poll())
        .then(() => {
          if (code !== 0 && signal === null && !this.#closed && !this.#stopping) {
            const last = this.#stderr.trim().split('\n').slice(-3).join(' | ');
            this.#error = new Error(`ffmpeg exited with code ${code}${last ? `: ${last}` : ''}`);
          }
          this.#done = true;
          clearInterval(this.#timer);
          this.#wake?.();
        });
    });
    try {
      // ffmpeg rewrites list.csv when a chunk completes: react at once.
      this.#watcher = watch(dir, () => void this.#poll());
      this.#watcher.on('error', () => this.#watcher?.close());
    } catch {
      // no file watching here: the poll below does it
    }
    this.#timer = setInterval(() => void this.#poll(), this.#opts.pollMs ?? 250);
  }

  /** The durable chunks: the segment muxer, its list, the files. */
  #chunkArgs(dir: string): string[] {
    return [
      '-f',
      'segment',
      '-segment_time',
      String(this.#opts.chunkSeconds),
      '-segment_format',
      'mp4',
      '-reset_timestamps',
      '0',
      // Arbitrary metadata keys are written (as mdta) only with use_metadata_tags.
      '-segment_format_options',
      'movflags=+use_metadata_tags',
      '-segment_list',
      path.join(dir, 'list.csv'),
      '-segment_list_type',
      'csv',
      path.join(dir, 'chunk_%05d.mp4'),
    ];
  }

  /**
   * The same chunks, and the live stream beside them from the same encode (one x264, two muxers): every
   * frame its own fragment, flushed at once, on stdout.
   */
  #teeArgs(dir: string): string[] {
    const chunks = teeSlave(
      {
        f: 'segment',
        segment_time: String(this.#opts.chunkSeconds),
        segment_format: 'mp4',
        reset_timestamps: '0',
        segment_format_options: 'movflags=+use_metadata_tags',
        segment_list: path.join(dir, 'list.csv'),
        segment_list_type: 'csv',
      },
      path.join(dir, 'chunk_%05d.mp4'),
    );
    // frag_discont with an edit list keeps each fragment's real time in its tfdt (otherwise the muxer
    // starts the stream at 0, losing the offset from the capture origin that the chunks keep).
    const live = teeSlave(
      { f: 'mp4', movflags: '+frag_every_frame+empty_moov+default_base_moof+frag_discont', use_editlist: '1', flush_packets: '1' },
      'pipe:1',
    );
    return ['-f', 'tee', `${chunks}|${live}`];
  }

  #poll(): Promise<void> {
    if (this.#polling) {
      // A change during a running poll may have come after its read: read once more afterwards.
      this.#pollAgain = true;
      return this.#polling;
    }
    this.#polling = (async () => {
      do {
        this.#pollAgain = false;
        await this.#pollOnce();
      } while (this.#pollAgain);
    })().finally(() => (this.#polling = null));
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
    const names = text
      .split('\n')
      .map((l) => l.split(',')[0]!.trim())
      .filter((n) => /^chunk_\d{5}\.mp4$/.test(n));
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
    this.#watcher?.close();
    if (this.#child && this.#child.exitCode === null) this.#child.kill('SIGKILL');
    this.#done = true;
    this.#wake?.();
    await rm(await this.dir, { recursive: true, force: true });
  }
}
