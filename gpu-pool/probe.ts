/** Reads a media file's essentials from `ffmpeg -i` (no ffprobe: the npm-packaged build has none). */
import { run } from './ffmpeg.ts';

export interface ProbeResult {
  width: number;
  height: number;
  fps: number;
  /** Container start time, seconds (chunks cut with `-reset_timestamps 0` start at k·N). */
  start: number;
  /** Presentation time of the first video frame, seconds (null when not measured). */
  videoStart: number | null;
  duration: number | null;
  hasAudio: boolean;
}

/** Parses `ffmpeg -i` stderr; throws with the reason when there is no usable video stream. */
export function parseProbe(stderr: string): ProbeResult {
  if (/moov atom not found|Invalid data found when processing input|could not find codec parameters/i.test(stderr)) {
    const reason = /(moov atom not found|Invalid data found when processing input|could not find codec parameters[^\n]*)/i.exec(stderr)?.[1];
    throw new Error(`not a decodable video: ${reason ?? 'unknown reason'}`);
  }
  const video = /Stream #\d+:\d+[^\n]*?: Video: ([^\n]+)/.exec(stderr);
  if (!video) throw new Error('not a decodable video: no video stream');
  const size = /(?:^|[\s,])(\d{2,5})x(\d{2,5})(?=[\s,\[]|$)/.exec(video[1]!);
  if (!size) throw new Error('not a decodable video: video size unknown');
  const fpsMatch = /([\d.]+) fps/.exec(video[1]!) ?? /([\d.]+) tbr/.exec(video[1]!);
  const fps = fpsMatch ? Number(fpsMatch[1]) : NaN;
  if (!Number.isFinite(fps) || fps <= 0 || fps > 240) throw new Error('not a decodable video: frame rate unknown');
  const start = Number(/start: (-?[\d.]+)/.exec(stderr)?.[1] ?? 0);
  const d = /Duration: (\d+):(\d+):([\d.]+)/.exec(stderr);
  return {
    width: Number(size[1]),
    height: Number(size[2]),
    fps,
    start: Number.isFinite(start) ? start : 0,
    videoStart: null,
    duration: d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : null,
    hasAudio: /Stream #\d+:\d+[^\n]*?: Audio: /.test(stderr),
  };
}

/** Parses `-f framecrc` output: the first packet's pts in seconds. */
export function parseFirstPts(framecrc: string): number | null {
  const tb = /^#tb 0: (\d+)\/(\d+)/m.exec(framecrc);
  const first = /^0,\s*(-?\d+),\s*(-?\d+),/m.exec(framecrc);
  if (!tb || !first) return null;
  return (Number(first[2]) * Number(tb[1])) / Number(tb[2]);
}

/**
 * Probes a chunk in one ffmpeg run: stream facts from stderr, and the first video packet's original
 * timestamp (`-copyts … -frames:v 1 -f framecrc`), so segments keep the capture's own timeline.
 */
export async function probe(ffmpeg: string, file: string): Promise<ProbeResult> {
  const { stderr, stdout } = await run(
    ffmpeg,
    ['-hide_banner', '-copyts', '-i', file, '-map', '0:v:0', '-frames:v', '1', '-c', 'copy', '-f', 'framecrc', '-'],
    { allowFailure: true },
  );
  const info = parseProbe(stderr);
  return { ...info, videoStart: parseFirstPts(stdout.toString()) };
}

/** Each eye's output size: height = min(wanted, source), width follows the aspect; both even. */
export function outputSize(source: { width: number; height: number }, wantedHeight: number): { width: number; height: number } {
  const height = Math.max(2, Math.floor(Math.min(wantedHeight, source.height) / 2) * 2);
  const width = Math.max(2, Math.round((source.width * height) / source.height / 2) * 2);
  return { width, height };
}
