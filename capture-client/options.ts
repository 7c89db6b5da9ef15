/** Command-line options of the capture client, parsed and validated with messages naming the option. */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { StereoMode } from '../protocol/keys.ts';
import { defaultFfmpeg } from './ffmpeg-path.ts';

export type Source = { kind: 'test' } | { kind: 'file'; path: string } | { kind: 'screen' };

export interface CaptureOptions {
  server: string;
  source: Source;
  mode: StereoMode;
  /** null: use the server's advertised chunk length. */
  chunkSeconds: number | null;
  duration: number | null;
  width: number;
  height: number;
  fps: number;
  realtime: boolean;
  quiet: boolean;
  json: boolean;
  ffmpeg: string;
  /** How long to wait for the session to close after ending it (seconds). */
  endTimeout: number;
  /** Announce each upload on the socket (the fast path); off leaves the server's event path alone. */
  fastPath: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage: npm run capture -- [options]

Streams a source to a StereoSpot Live server and prints the stereo playlist URL.

Options:
  --server URL          server base URL (default http://127.0.0.1:8000)
  --source SOURCE       test | file:PATH | screen   (default test: a moving pattern with a tone)
  --mode MODE           sbs | anaglyph (default sbs)
  --chunk-seconds N     chunk length in seconds (default: what the server advertises, else 2)
  --duration S          stop after S seconds of media (default: unlimited; whole file for file:)
  --size WxH            test pattern size (default 640x360)
  --fps N               test/screen frame rate (default 30)
  --realtime            pace input at real time (default on)
  --no-realtime         read as fast as possible (files and the test pattern)
  --end-timeout S       how long to wait for the playlist to close after ending (default 60)
  --ffmpeg PATH         ffmpeg executable (default $FFMPEG_PATH, else ffmpeg on PATH, else the
                        binary from the @ffmpeg-installer npm package)
  --no-fast-path        do not announce uploads on the socket (the server then learns of them
                        only through its own event path: S3 → SQS, or the local queue)
  --json                print events as JSON lines on stdout (for scripts)
  --quiet               no status line
  -h, --help            show this help

Ctrl-C stops capturing, uploads what was cut, ends the session and waits for the playlist to close;
a second Ctrl-C exits at once.`;

function positiveNumber(name: string, raw: string | undefined, fallback: number | null, max: number): number | null {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new UsageError(`--${name} must be a number above 0 and at most ${max} (got "${raw}")`);
  return n;
}

/** Parses argv (without node and script); throws UsageError naming the bad option. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): CaptureOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        server: { type: 'string' },
        source: { type: 'string' },
        mode: { type: 'string' },
        'chunk-seconds': { type: 'string' },
        duration: { type: 'string' },
        size: { type: 'string' },
        fps: { type: 'string' },
        realtime: { type: 'boolean' },
        'no-realtime': { type: 'boolean' },
        'end-timeout': { type: 'string' },
        ffmpeg: { type: 'string' },
        json: { type: 'boolean' },
        'no-fast-path': { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const server = (v.server ?? 'http://127.0.0.1:8000').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(server)) throw new UsageError(`--server must be an http(s) URL (got "${server}")`);
  const rawSource = v.source ?? 'test';
  let source: Source;
  if (rawSource === 'test') source = { kind: 'test' };
  else if (rawSource === 'screen') source = { kind: 'screen' };
  else if (rawSource.startsWith('file:') && rawSource.length > 5) {
    const path = rawSource.slice(5);
    if (!existsSync(path)) throw new UsageError(`--source file: ${path} does not exist`);
    source = { kind: 'file', path };
  } else throw new UsageError(`--source must be test, screen or file:PATH (got "${rawSource}")`);
  const mode = v.mode ?? 'sbs';
  if (mode !== 'sbs' && mode !== 'anaglyph') throw new UsageError(`--mode must be sbs or anaglyph (got "${mode}")`);
  const size = v.size ?? '640x360';
  const m = /^(\d{2,4})x(\d{2,4})$/.exec(size);
  if (!m || Number(m[1]) % 2 !== 0 || Number(m[2]) % 2 !== 0) throw new UsageError(`--size must be WxH with even numbers, e.g. 640x360 (got "${size}")`);
  if (v.realtime && v['no-realtime']) throw new UsageError('--realtime and --no-realtime cannot both be given');
  return {
    server,
    source,
    mode,
    chunkSeconds: positiveNumber('chunk-seconds', v['chunk-seconds'], null, 30),
    duration: positiveNumber('duration', v.duration, null, 7 * 24 * 3600),
    width: Number(m[1]),
    height: Number(m[2]),
    fps: positiveNumber('fps', v.fps, 30, 120)!,
    realtime: !v['no-realtime'],
    quiet: Boolean(v.quiet),
    json: Boolean(v.json),
    ffmpeg: v.ffmpeg ?? defaultFfmpeg(env),
    endTimeout: positiveNumber('end-timeout', v['end-timeout'], 60, 3600)!,
    fastPath: !v['no-fast-path'],
  };
}
