/**
 * Temporal flicker, measured: a still photograph slowly panned and zoomed (so the depth order of every
 * scene point stays the same), cut into chunks as the capture client cuts them and converted chunk by
 * chunk with each chunk's predecessor, as a live session runs. Each scene point is followed from frame
 * to frame along the known camera path, and the change of its disparity (px of one eye, as the warp
 * used it: the chunk task's `probe`) is collected; the figure is the 95th percentile over every point
 * and every pair of consecutive frames, chunk borders included. A perfectly stable depth gives 0.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DisparityProbe } from '../gpu-pool/index.ts';

/** Each eye of the clip. */
export const CLIP_WIDTH = 448;
export const CLIP_HEIGHT = 252;

/** Where frame `t` of `frames` looks: the window's centre (photo px) and its width (photo px). */
export interface CameraPath {
  frames: number;
  at(t: number): { cx: number; cy: number; windowWidth: number };
}

/** A slow pan across the middle of a W×H photograph with a zoom in of 15 %: 3 s at 30 fps by default. */
export function panZoomPath(photoWidth: number, photoHeight: number, frames = 90): CameraPath {
  // The widest window (the first) must fit: 16:9 within the photograph, with room to pan.
  const widest = Math.min(photoWidth * 0.8, (photoHeight * 0.9 * 16) / 9);
  const narrowest = widest / 1.15;
  const pan = photoWidth - widest; // the first window's free width, shared out over the pan
  return {
    frames,
    at(t) {
      const u = frames > 1 ? t / (frames - 1) : 0;
      const windowWidth = widest + (narrowest - widest) * u;
      return { cx: photoWidth / 2 - pan * 0.3 + pan * 0.6 * u, cy: photoHeight / 2, windowWidth };
    },
  };
}

/** Renders frame `t` (rgb24, CLIP_WIDTH×CLIP_HEIGHT) of the path from the photograph, bilinear. */
function renderFrame(photo: Uint8Array, pw: number, ph: number, camera: CameraPath, t: number, out: Uint8Array): void {
  const { cx, cy, windowWidth } = camera.at(t);
  const k = windowWidth / CLIP_WIDTH;
  for (let y = 0; y < CLIP_HEIGHT; y++) {
    const sy = Math.min(ph - 1.001, Math.max(0, cy + (y + 0.5 - CLIP_HEIGHT / 2) * k - 0.5));
    const y0 = Math.floor(sy);
    const fy = sy - y0;
    for (let x = 0; x < CLIP_WIDTH; x++) {
      const sx = Math.min(pw - 1.001, Math.max(0, cx + (x + 0.5 - CLIP_WIDTH / 2) * k - 0.5));
      const x0 = Math.floor(sx);
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const a = photo[(y0 * pw + x0) * 3 + c]!;
        const b = photo[(y0 * pw + x0 + 1) * 3 + c]!;
        const d = photo[((y0 + 1) * pw + x0) * 3 + c]!;
        const e = photo[((y0 + 1) * pw + x0 + 1) * 3 + c]!;
        out[(y * CLIP_WIDTH + x) * 3 + c] = Math.round((a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy);
      }
    }
  }
}

/** The clip, encoded and cut into `chunkSeconds` MP4 chunks as the capture client cuts them. */
export async function panZoomChunks(
  ffmpeg: string,
  dir: string,
  photo: Uint8Array,
  pw: number,
  ph: number,
  camera: CameraPath,
  chunkSeconds = 0.5,
): Promise<Buffer[]> {
  const child = spawn(
    ffmpeg,
    [
      '-v',
      'error',
      '-y',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${CLIP_WIDTH}x${CLIP_HEIGHT}`,
      '-r',
      '30',
      '-i',
      '-',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '16',
      '-pix_fmt',
      'yuv420p',
      '-force_key_frames',
      `expr:gte(t,n_forced*${chunkSeconds})`,
      '-sc_threshold',
      '0',
      '-f',
      'segment',
      '-segment_time',
      String(chunkSeconds),
      '-segment_format',
      'mp4',
      '-reset_timestamps',
      '0',
      path.join(dir, 'pan_%05d.mp4'),
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const frame = new Uint8Array(CLIP_WIDTH * CLIP_HEIGHT * 3);
  for (let t = 0; t < camera.frames; t++) {
    renderFrame(photo, pw, ph, camera, t, frame);
    if (!child.stdin.write(Buffer.from(frame))) await new Promise((resolve) => child.stdin.once('drain', resolve));
  }
  child.stdin.end();
  const code = await exited;
  if (code !== 0) throw new Error(`ffmpeg could not encode the pan-and-zoom clip (exit ${code}): ${stderr.trim()}`);
  const names = (await readdir(dir)).filter((n) => n.startsWith('pan_')).sort();
  return Promise.all(names.map((n) => readFile(path.join(dir, n))));
}

/** Bilinear sample of a disparity map (its grid spread over the eye as the warp spreads it). */
function sample(map: Float32Array, dw: number, dh: number, x: number, y: number): number {
  const fx = Math.min(dw - 1, Math.max(0, (x * (dw - 1)) / (CLIP_WIDTH - 1)));
  const fy = Math.min(dh - 1, Math.max(0, ((y + 0.5) * dh) / CLIP_HEIGHT - 0.5));
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(dw - 1, x0 + 1);
  const y1 = Math.min(dh - 1, y0 + 1);
  const tx = fx - x0;
  const ty = fy - y0;
  const top = map[y0 * dw + x0]! * (1 - tx) + map[y0 * dw + x1]! * tx;
  const bottom = map[y1 * dw + x0]! * (1 - tx) + map[y1 * dw + x1]! * tx;
  return top * (1 - ty) + bottom * ty;
}

export interface Flicker {
  /** 95th percentile of a scene point's disparity change between consecutive frames (px). */
  p95: number;
  /** Its median. */
  p50: number;
  /** The same at chunk borders only (the first frame of a chunk vs the last of the one before). */
  borderP95: number;
  /** Point-to-point changes measured. */
  samples: number;
}

/** The flicker of a clip's conversion: `probes` are the chunks' disparity probes, in order. */
export function measureFlicker(probes: DisparityProbe[], camera: CameraPath, step = 4): Flicker {
  const maps: Array<{ map: Float32Array; dw: number; dh: number; border: boolean }> = [];
  for (const probe of probes) {
    for (const [i, map] of probe.frames.entries())
      maps.push({ map, dw: probe.width, dh: probe.height, border: i === 0 && maps.length > 0 });
  }
  const changes: number[] = [];
  const borders: number[] = [];
  for (let t = 0; t + 1 < maps.length && t + 1 < camera.frames; t++) {
    const a = camera.at(t);
    const b = camera.at(t + 1);
    const ka = a.windowWidth / CLIP_WIDTH;
    const kb = b.windowWidth / CLIP_WIDTH;
    const now = maps[t]!;
    const next = maps[t + 1]!;
    for (let y = step / 2; y < CLIP_HEIGHT; y += step) {
      for (let x = step / 2; x < CLIP_WIDTH; x += step) {
        // The scene point at (x, y) in frame t, and where frame t + 1 shows it.
        const px = a.cx + (x + 0.5 - CLIP_WIDTH / 2) * ka;
        const py = a.cy + (y + 0.5 - CLIP_HEIGHT / 2) * ka;
        const x2 = (px - b.cx) / kb + CLIP_WIDTH / 2 - 0.5;
        const y2 = (py - b.cy) / kb + CLIP_HEIGHT / 2 - 0.5;
        if (x2 < 8 || x2 > CLIP_WIDTH - 9 || y2 < 8 || y2 > CLIP_HEIGHT - 9) continue;
        const change = Math.abs(sample(next.map, next.dw, next.dh, x2, y2) - sample(now.map, now.dw, now.dh, x, y));
        changes.push(change);
        if (next.border) borders.push(change);
      }
    }
  }
  const quantile = (list: number[], q: number) => {
    if (list.length === 0) return NaN;
    const sorted = Float64Array.from(list).sort();
    return sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))]!;
  };
  return { p95: quantile(changes, 0.95), p50: quantile(changes, 0.5), borderP95: quantile(borders, 0.95), samples: changes.length };
}
