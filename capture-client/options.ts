/** Command-line options of the capture client, parsed and validated with messages naming the option. */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isStereoMode, STEREO_MODES, type StereoMode } from '../protocol/layout.ts';
import type { StereoSettingsWire } from '../protocol/messages.ts';
import { checkSettings } from '../protocol/settings.ts';
import { defaultFfmpeg } from './ffmpeg-path.ts';

/** ffmpeg's screen grabbers: X11, macOS, Windows GDI, Windows Desktop Duplication (GPU, Windows 8+). */
export type Grabber = 'x11grab' | 'avfoundation' | 'gdigrab' | 'ddagrab';
export const GRABBERS: readonly Grabber[] = ['x11grab', 'avfoundation', 'gdigrab', 'ddagrab'];

/** A rectangle of the screen, in pixels. */
export interface Region {
  width: number;
  height: number;
  x: number;
  y: number;
}

export interface ScreenSource {
  kind: 'screen';
  grabber: Grabber;
  /** X11 display (default $DISPLAY), macOS screen index, Windows monitor index (ddagrab). */
  display: string | null;
  /** A window: its title (gdigrab) or its X11 id (x11grab, e.g. 0x3a00007). */
  window: string | null;
  region: Region | null;
}

export type Source = { kind: 'test' } | { kind: 'file'; path: string } | ScreenSource;

/**
 * Sound to capture with the screen: none, the system's output ("system": PulseAudio's monitor of the
 * default sink on Linux), or a named input of ffmpeg's device layer for the platform.
 */
export type AudioSource = { kind: 'none' } | { kind: 'pulse' | 'dshow' | 'avfoundation'; device: string };

export interface CaptureOptions {
  server: string;
  source: Source;
  mode: StereoMode;
  /** Stereo settings for the new session (the server's defaults for those not given). */
  settings: Partial<StereoSettingsWire>;
  /** Screen sources only: the sound captured with the picture. */
  audio: AudioSource;
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
  /** Send the live stream frame by frame beside the chunks (the live path, /ws/live/{id}). */
  live: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage: npm run capture -- [options]

Streams a source to a StereoSpot Live server and prints the stereo playlist URL.

Options:
  --server URL          server base URL (default http://127.0.0.1:8000)
  --source SOURCE       test | file:PATH | screen   (default test: a moving pattern with a tone)
  --mode MODE           the stereo output (default sbs): sbs | half-sbs | tb | half-tb | cross |
                        anaglyph | anaglyph-half | anaglyph-dubois
  --strength N          stereo strength, 0…0.1 of the picture width (default: the server's)
  --convergence N       depth on the screen plane, 0 (all comes out) … 1 (all goes in)

Screen capture (--source screen):
  --grabber NAME        x11grab (Linux) | avfoundation (macOS) | gdigrab | ddagrab (Windows)
                        (default: x11grab, avfoundation or gdigrab for this platform; ddagrab is
                        Windows' GPU desktop duplication, cheaper at high resolutions)
  --display ID          X11 display (default $DISPLAY), macOS screen index (default 0),
                        Windows monitor index for ddagrab (default 0)
  --window NAME         one window: its title (gdigrab) or its X11 id, e.g. 0x3a00007 (x11grab;
                        see xwininfo); avfoundation and ddagrab capture whole screens (use --region)
  --region WxH+X+Y      a rectangle of the screen, e.g. 1280x720+0+0
  --audio SOURCE        none (default) | system (Linux: PulseAudio monitor of the default output)
                        | pulse:NAME | dshow:NAME (Windows, e.g. "dshow:Stereo Mix") |
                        avfoundation:INDEX (macOS, e.g. a BlackHole loopback device)
  --chunk-seconds N     chunk length in seconds (default: what the server advertises, else 2)
  --duration S          stop after S seconds of media (default: unlimited; whole file for file:)
  --size WxH            test pattern size (default 640x360)
  --fps N               test/screen frame rate (default 30)
  --realtime            pace input at real time (default on)
  --no-realtime         read as fast as possible (files and the test pattern)
  --end-timeout S       how long to wait for the playlist to close after ending (default 60)
  --ffmpeg PATH         ffmpeg executable (default $FFMPEG_PATH, else ffmpeg on PATH, else the
                        binary from the @ffmpeg-installer npm package)
  --no-live             do not send the frame-by-frame live stream (the chunks alone)
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
  if (!Number.isFinite(n) || n <= 0 || n > max)
    throw new UsageError(`--${name} must be a number above 0 and at most ${max} (got "${raw}")`);
  return n;
}

/** Parses argv (without node and script); throws UsageError naming the bad option. */
export function parseOptions(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): CaptureOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        server: { type: 'string' },
        source: { type: 'string' },
        mode: { type: 'string' },
        strength: { type: 'string' },
        convergence: { type: 'string' },
        grabber: { type: 'string' },
        display: { type: 'string' },
        window: { type: 'string' },
        region: { type: 'string' },
        audio: { type: 'string' },
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
        'no-live': { type: 'boolean' },
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
  else if (rawSource === 'screen') source = screenSource(v, platform);
  else if (rawSource.startsWith('file:') && rawSource.length > 5) {
    const path = rawSource.slice(5);
    if (!existsSync(path)) throw new UsageError(`--source file: ${path} does not exist`);
    source = { kind: 'file', path };
  } else throw new UsageError(`--source must be test, screen or file:PATH (got "${rawSource}")`);
  const mode = v.mode ?? 'sbs';
  if (!isStereoMode(mode)) throw new UsageError(`--mode must be one of ${STEREO_MODES.join(', ')} (got "${mode}")`);
  if (source.kind !== 'screen') {
    for (const name of ['grabber', 'display', 'window', 'region', 'audio'] as const) {
      if (v[name] !== undefined) throw new UsageError(`--${name} is for --source screen only`);
    }
  }
  const settings: Record<string, unknown> = {};
  for (const [flag, field] of [
    ['strength', 'stereo_strength'],
    ['convergence', 'convergence'],
  ] as const) {
    if (v[flag] !== undefined) settings[field] = Number(v[flag]);
  }
  const checked = checkSettings(settings);
  if (!checked.ok)
    throw new UsageError(`--${checked.field === 'stereo_strength' ? 'strength' : 'convergence'}: ${checked.message.replace(/^\w+ /, '')}`);
  const size = v.size ?? '640x360';
  const m = /^(\d{2,4})x(\d{2,4})$/.exec(size);
  if (!m || Number(m[1]) % 2 !== 0 || Number(m[2]) % 2 !== 0)
    throw new UsageError(`--size must be WxH with even numbers, e.g. 640x360 (got "${size}")`);
  if (v.realtime && v['no-realtime']) throw new UsageError('--realtime and --no-realtime cannot both be given');
  return {
    server,
    source,
    mode,
    settings: checked.settings,
    audio: source.kind === 'screen' ? audioSource(v.audio, platform) : { kind: 'none' },
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
    live: !v['no-live'],
  };
}

function defaultGrabber(platform: NodeJS.Platform): Grabber {
  if (platform === 'darwin') return 'avfoundation';
  if (platform === 'win32') return 'gdigrab';
  return 'x11grab';
}

function screenSource(
  v: { grabber?: string; display?: string; window?: string; region?: string },
  platform: NodeJS.Platform,
): ScreenSource {
  const grabber = (v.grabber ?? defaultGrabber(platform)) as Grabber;
  if (!GRABBERS.includes(grabber)) throw new UsageError(`--grabber must be one of ${GRABBERS.join(', ')} (got "${v.grabber}")`);
  let region: Region | null = null;
  if (v.region !== undefined) {
    const m = /^(\d{2,5})x(\d{2,5})\+(\d{1,5})\+(\d{1,5})$/.exec(v.region);
    if (!m) throw new UsageError(`--region must be WxH+X+Y, e.g. 1280x720+0+0 (got "${v.region}")`);
    region = { width: Number(m[1]), height: Number(m[2]), x: Number(m[3]), y: Number(m[4]) };
    if (region.width % 2 !== 0 || region.height % 2 !== 0)
      throw new UsageError(`--region needs an even width and height (got ${region.width}x${region.height})`);
  }
  const window = v.window ?? null;
  if (window !== null) {
    if (grabber === 'avfoundation' || grabber === 'ddagrab') {
      throw new UsageError(`--window is not offered by ${grabber}: it captures whole screens; use --region for a part of one`);
    }
    if (grabber === 'x11grab' && !/^0x[0-9a-f]+$|^\d+$/i.test(window)) {
      throw new UsageError(`--window for x11grab is an X11 window id, e.g. 0x3a00007 (xwininfo shows it; got "${window}")`);
    }
    if (region !== null) throw new UsageError('--window and --region cannot both be given');
  }
  const display = v.display ?? null;
  if (display !== null && (grabber === 'avfoundation' || grabber === 'ddagrab') && !/^\d+$/.test(display)) {
    throw new UsageError(`--display for ${grabber} is a screen index, e.g. 0 (got "${display}")`);
  }
  if (display !== null && grabber === 'gdigrab')
    throw new UsageError('--display is not offered by gdigrab (it captures the whole desktop): use --region');
  return { kind: 'screen', grabber, display, window, region };
}

function audioSource(raw: string | undefined, platform: NodeJS.Platform): AudioSource {
  if (raw === undefined || raw === 'none') return { kind: 'none' };
  if (raw === 'system') {
    if (platform === 'linux') return { kind: 'pulse', device: '@DEFAULT_MONITOR@' };
    if (platform === 'win32')
      throw new UsageError(
        '--audio system: Windows has no loopback input for ffmpeg; enable "Stereo Mix" (or install a virtual cable) and use --audio "dshow:Stereo Mix"',
      );
    throw new UsageError(
      '--audio system: macOS offers no system-audio input; install a loopback device (e.g. BlackHole) and use --audio avfoundation:INDEX',
    );
  }
  const m = /^(pulse|dshow|avfoundation):(.+)$/.exec(raw);
  if (!m) throw new UsageError(`--audio must be none, system, pulse:NAME, dshow:NAME or avfoundation:INDEX (got "${raw}")`);
  return { kind: m[1] as 'pulse' | 'dshow' | 'avfoundation', device: m[2]! };
}
