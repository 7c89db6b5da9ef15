/**
 * One timeline per capture: how the capture's picture and sound get timestamps on one clock, so that
 * what was shown and heard together plays together, and so that no frame is invented.
 *
 * Media time t of every chunk was captured at `origin + t` on the wall clock (µs, written into every
 * chunk as `stereospot_capture_origin`), where `origin` is a wall-clock time read just before ffmpeg
 * starts. Which clock the streams share depends on the source:
 *
 * - `media` — a file or the test pattern: the streams already share the media's own clock (ffmpeg
 *   starts a file's earliest stream at 0; the test pattern's two generators both start at 0). Both
 *   are moved onto the wall clock by the **same** constant, RTCSTART − origin, computed in **one**
 *   filter graph: its filters are configured together when the first picture and the first sound
 *   have arrived, so they read one RTCSTART. (Separate graphs each read their own, when their own
 *   first frame arrived: that put the sound ≈ 90 ms before the picture.)
 * - `wall` — a screen grabbed with x11grab or gdigrab, with PulseAudio's sound or none: those devices
 *   stamp every frame with the wall clock as it was captured. Their stamps are kept (`-copyts`) and
 *   only the origin is subtracted, so both streams keep the device's own capture times.
 * - `device` — grabbers and sound devices with clocks of their own (avfoundation, dshow, ddagrab):
 *   nothing relates their clocks, so each stream's first frame is placed at the moment it reached
 *   ffmpeg's filters (its own graph's RTCSTART) and later frames follow at their device's pace.
 *
 * Frames are passed with their own timestamps (`-vsync vfr`): with a constant-rate output ffmpeg
 * filled the time between the origin and the first frame with copies of the first frame (a 6-s file
 * came out 6.2 s long). Chunks are cut from the first frame on (ffmpeg's keyframe expression and
 * segment grid count from the first frame), so a 6-s file gives three 2-s chunks of 60 frames each.
 * The encoder's time base is 1/90000 s: on a 1/fps grid, every picture would be moved to the nearest
 * frame slot (up to half a frame, ≈ 17 ms at 30 fps) while the sound keeps its exact time.
 */
import { execFile } from 'node:child_process';
import type { CaptureOptions, ScreenSource } from './options.ts';

/** Which clock a capture's streams share (see the header). */
export type ClockKind = 'media' | 'wall' | 'device';

/** The streams a capture encodes and how they share a timeline. */
export interface StreamPlan {
  /** ffmpeg stream specifier of the picture (e.g. `0:v:0`). */
  video: string;
  /** ffmpeg stream specifier of the sound, or null when there is none. */
  audio: string | null;
  /** Filters the picture needs before its timestamps are set (a region crop, a GPU frame download). */
  videoFilter: string | null;
  clock: ClockKind;
}

/** Grabbers and sound inputs whose frames carry wall-clock capture times (av_gettime). */
const WALL_CLOCK_GRABBERS = new Set(['x11grab', 'gdigrab']);
const WALL_CLOCK_SOUND = new Set(['none', 'pulse']);

/**
 * The plan for a capture. A file is probed first (it may have no sound; it must have a picture), so
 * this reads the file's header with ffmpeg; other sources need no I/O.
 */
export async function planStreams(options: CaptureOptions): Promise<StreamPlan> {
  const source = options.source;
  switch (source.kind) {
    case 'test':
      return { video: '0:v:0', audio: '1:a:0', videoFilter: null, clock: 'media' };
    case 'file': {
      const streams = await probeFile(options.ffmpeg, source.path);
      if (!streams.video) throw new Error(`${source.path} has no video stream`);
      return { video: '0:v:0', audio: streams.audio ? '0:a:0' : null, videoFilter: null, clock: 'media' };
    }
    case 'screen': {
      const wall = WALL_CLOCK_GRABBERS.has(source.grabber) && WALL_CLOCK_SOUND.has(options.audio.kind);
      return {
        video: '0:v:0',
        audio: options.audio.kind === 'none' ? null : '1:a:0',
        videoFilter: screenFilter(source),
        clock: wall ? 'wall' : 'device',
      };
    }
  }
}

/** Filters a screen needs before the clock: avfoundation has no region option, ddagrab gives GPU frames. */
function screenFilter({ grabber, region }: ScreenSource): string | null {
  if (grabber === 'ddagrab') return 'hwdownload,format=bgra';
  if (grabber === 'avfoundation' && region) return `crop=${region.width}:${region.height}:${region.x}:${region.y}`;
  return null;
}

/**
 * ffmpeg output arguments that put the plan's streams on one timeline whose zero is `originMicros`
 * on the wall clock: the filter graph(s), the maps of its outputs, frames passed as they are, and the
 * encoder's fine time base (see the header).
 */
export function timelineArgs(plan: StreamPlan, originMicros: number): string[] {
  const micros = (expr: string) => `(${expr})/(TB*1000000)`;
  const shift =
    plan.clock === 'media'
      ? `PTS+${micros(`RTCSTART-${originMicros}`)}`
      : plan.clock === 'wall'
        ? `PTS-${micros(String(originMicros))}`
        : `PTS-STARTPTS+${micros(`RTCSTART-${originMicros}`)}`;
  const video = `[${plan.video}]${plan.videoFilter ? `${plan.videoFilter},` : ''}setpts=${shift}[v]`;
  const audio = plan.audio ? `[${plan.audio}]asetpts=${shift}[a]` : null;
  // One graph shares one RTCSTART (media); a graph per stream gives each its own (device).
  const graphs = audio === null ? [video] : plan.clock === 'device' ? [video, audio] : [`${video};${audio}`];
  return [
    ...(plan.clock === 'wall' ? ['-copyts'] : []),
    ...graphs.flatMap((graph) => ['-filter_complex', graph]),
    '-map',
    '[v]',
    ...(audio ? ['-map', '[a]'] : []),
    '-vsync',
    'vfr',
    '-enc_time_base:v',
    '1:90000',
  ];
}

/** Which streams a file has, from ffmpeg's description of its input; rejects naming the file if unreadable. */
export function probeFile(ffmpeg: string, file: string): Promise<{ video: boolean; audio: boolean }> {
  return new Promise((resolve, reject) => {
    // With an input and no output ffmpeg describes the input and exits 1; only the description matters.
    execFile(ffmpeg, ['-hide_banner', '-nostdin', '-i', file], { timeout: 30_000 }, (error, _stdout, stderr) => {
      const text = String(stderr);
      const streams = text.split('\n').filter((line) => /^\s*Stream #0:\d+/.test(line));
      if (streams.length === 0) {
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error(`could not start ffmpeg (${ffmpeg}): ${error.message}`));
          return;
        }
        const reason =
          text
            .trim()
            .split('\n')
            .at(-1)
            ?.replace(/^.*?: /, '') ?? 'no streams';
        reject(new Error(`cannot read ${file}: ${reason}`));
        return;
      }
      resolve({ video: streams.some((l) => / Video: /.test(l)), audio: streams.some((l) => / Audio: /.test(l)) });
    });
  });
}
