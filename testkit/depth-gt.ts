/**
 * The photographs with measured depth (../shared/data/depth-gt, its README): which files, how each
 * depth PNG decodes to metres, and reading them — shared by the depth tests and `bench depth`.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ffmpeg } from './media.ts';

const exec = promisify(execFile);

export interface GroundTruthFrame {
  name: string;
  color: string;
  depth: string;
  /** A depth PNG's 16-bit sample in metres (NaN: missing). */
  metres: (v: number) => number;
}

/** The photographs and how each depth PNG decodes to metres; see depth-gt/README.md. */
export const FRAMES: GroundTruthFrame[] = [
  // SUN RGB-D stores millimetres rotated left by 3 bits.
  {
    name: 'SUN RGB-D corridor',
    color: 'SUN_color.jpg',
    depth: 'SUN_depth.png',
    metres: (v) => (v === 0 ? NaN : (((v >> 3) | (v << 13)) & 0xffff) / 1000),
  },
  { name: 'TUM office desk', color: 'TUM_color.png', depth: 'TUM_depth.png', metres: (v) => (v === 0 ? NaN : v / 5000) },
  {
    name: 'Redwood living room',
    color: 'redwood_color_00000.jpg',
    depth: 'redwood_depth_00000.png',
    metres: (v) => (v === 0 ? NaN : v / 1000),
  },
  // Unit undocumented (≈ 0.1 mm): fine for rank correlation.
  {
    name: 'ESANet lounge',
    color: 'esanet_sample_rgb.png',
    depth: 'esanet_sample_depth.png',
    metres: (v) => (v === 0 || v === 65535 ? NaN : v / 10000),
  },
];

/** A picture's size, from ffmpeg. */
export async function pictureSize(file: string): Promise<{ width: number; height: number }> {
  const { stderr } = await exec(ffmpeg, ['-hide_banner', '-i', file], { encoding: 'utf8' }).catch((e: { stderr: string }) => ({
    stderr: e.stderr,
  }));
  const m = /, (\d{2,5})x(\d{2,5})/.exec(stderr);
  if (!m) throw new Error(`cannot read the size of ${file}`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** A picture decoded by ffmpeg to raw `pixFmt` bytes. */
export async function rawPicture(file: string, pixFmt: 'rgb24' | 'gray16le'): Promise<Buffer> {
  const { stdout } = await exec(ffmpeg, ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', pixFmt, '-'], {
    encoding: 'buffer',
    maxBuffer: 64 << 20,
  });
  return stdout;
}

/** A frame's measured depth in metres, `width`×`height` (NaN where missing or beyond `farthest` metres). */
export async function measuredDepth(
  dir: string,
  frame: GroundTruthFrame,
  width: number,
  height: number,
  farthest = 10,
): Promise<Float32Array> {
  const bytes = await rawPicture(path.join(dir, frame.depth), 'gray16le');
  const metres = new Float32Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const m = frame.metres(bytes.readUInt16LE(i * 2));
    metres[i] = m > farthest ? NaN : m;
  }
  return metres;
}

/** Median of the valid depth in a box of a `width`×`height` grid (NaN when none). */
export function medianDepth(depth: Float32Array, width: number, height: number, x0: number, y0: number, x1: number, y1: number): number {
  const values: number[] = [];
  for (let y = Math.max(0, Math.floor(y0)); y < Math.min(height, Math.ceil(y1)); y++) {
    for (let x = Math.max(0, Math.floor(x0)); x < Math.min(width, Math.ceil(x1)); x++) {
      const v = depth[y * width + x]!;
      if (!Number.isNaN(v)) values.push(v);
    }
  }
  values.sort((a, b) => a - b);
  return values.length === 0 ? NaN : values[values.length >> 1]!;
}

/** `seconds` of a still photograph as an H.264 MP4 at 30 fps (even-sized, as the encoder needs), written to `file`. */
export async function stillClip(photo: string, file: string, seconds = 1): Promise<string> {
  const args = [
    '-y',
    '-v',
    'error',
    '-loop',
    '1',
    '-i',
    photo,
    '-t',
    String(seconds),
    '-r',
    '30',
    '-vf',
    'scale=trunc(iw/2)*2:trunc(ih/2)*2',
  ];
  await exec(ffmpeg, [...args, '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', file]);
  return file;
}
