/**
 * 3D you can trust, measured on decoded output: for each photograph with measured depth (the
 * depth-gt folder) and each depth network, a one-second clip of the photograph goes through the real
 * GPU pool; the side-by-side output is decoded (libav), the disparity between the eyes is read back by
 * block matching, and its rank correlation (Spearman) with the measured nearness is reported beside the
 * network's own depth map's — what the warp keeps of what the network knew. Scale-free, so a network's
 * unit does not matter.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultFfmpeg } from '../../capture-client/ffmpeg-path.ts';
import { ChunkReader } from '../../gpu-pool/chunk-reader.ts';
import { FrameScaler, pictureSize } from '../../gpu-pool/frame-scaler.ts';
import { blockDisparities, GpuPool, loadDepthModel, spearman } from '../../gpu-pool/index.ts';

const exec = promisify(execFile);

export interface DepthOptions {
  /** The folder of photographs with measured depth (../shared/data/depth-gt). */
  gtDir: string;
  /** Networks to compare; null: the built-in estimator. */
  models: Array<string | null>;
  /** Each eye's height in the output. */
  outputHeight: number;
}

export interface DepthRow {
  frame: string;
  model: string;
  /** The network's own depth map vs measured nearness. */
  mapSpearman: number;
  /** Disparity on screen (decoded output) vs measured nearness. */
  outputSpearman: number;
  /** Textured blocks the output figure is over. */
  blocks: number;
}

/** The photographs and how each depth PNG decodes to metres (NaN: missing); see depth-gt/README.md. */
const FRAMES: Array<{ name: string; color: string; depth: string; metres: (v: number) => number }> = [
  { name: 'SUN RGB-D corridor', color: 'SUN_color.jpg', depth: 'SUN_depth.png', metres: (v) => (v === 0 ? NaN : (((v >> 3) | (v << 13)) & 0xffff) / 1000) },
  { name: 'TUM office desk', color: 'TUM_color.png', depth: 'TUM_depth.png', metres: (v) => (v === 0 ? NaN : v / 5000) },
  { name: 'Redwood living room', color: 'redwood_color_00000.jpg', depth: 'redwood_depth_00000.png', metres: (v) => (v === 0 ? NaN : v / 1000) },
  // Unit undocumented (≈ 0.1 mm): fine for rank correlation.
  { name: 'ESANet lounge', color: 'esanet_sample_rgb.png', depth: 'esanet_sample_depth.png', metres: (v) => (v === 0 || v === 65535 ? NaN : v / 10000) },
];

export function defaultDepthOptions(): DepthOptions {
  return { gtDir: process.env.STEREOSPOT_TEST_DEPTH_GT ?? path.resolve('..', 'shared', 'data', 'depth-gt'), models: [null], outputHeight: 240 };
}

async function probeSize(ffmpeg: string, file: string): Promise<{ width: number; height: number }> {
  const { stderr } = await exec(ffmpeg, ['-hide_banner', '-i', file], { encoding: 'utf8' }).catch((e: { stderr: string }) => ({ stderr: e.stderr }));
  const m = /, (\d{2,5})x(\d{2,5})/.exec(stderr);
  if (!m) throw new Error(`cannot read the size of ${file}`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

async function raw(ffmpeg: string, file: string, pixFmt: 'rgb24' | 'gray16le'): Promise<Buffer> {
  const { stdout } = await exec(ffmpeg, ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', pixFmt, '-'], { encoding: 'buffer', maxBuffer: 64 << 20 });
  return stdout;
}

/** Median of the valid depth in a box of the photograph's grid. */
function median(depth: Float32Array, width: number, height: number, x0: number, y0: number, x1: number, y1: number): number {
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

/** The last frame of a converted segment, gray (its Y plane), both eyes side by side. */
function lastFrameGray(segment: Uint8Array, width: number, height: number): Uint8Array {
  const reader = ChunkReader.open(segment);
  const scaler = new FrameScaler();
  const out = new Uint8Array(pictureSize(width, height, 'yuv420p'));
  try {
    for (const frame of reader.frames()) scaler.scale(frame, width, height, 'yuv420p', out);
  } finally {
    scaler.close();
    reader.close();
  }
  return out.subarray(0, width * height);
}

export async function runDepth(options: DepthOptions, log: (line: string) => void): Promise<DepthRow[]> {
  if (!existsSync(path.join(options.gtDir, 'SUN_color.jpg'))) {
    throw new Error(`no photographs with measured depth in ${options.gtDir}: pass --gt DIR (or set STEREOSPOT_TEST_DEPTH_GT)`);
  }
  const ffmpeg = defaultFfmpeg(process.env);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-bench-depth-'));
  const rows: DepthRow[] = [];
  try {
    for (const modelPath of options.models) {
      const model = await loadDepthModel({ modelPath, executionProvider: 'cpu', inputHeight: 252 });
      const pool = await GpuPool.create({ workers: 1, executionProvider: 'auto', warmupFrames: 0, modelPath });
      const label = `${model.spec.family}${modelPath ? ` (${path.basename(modelPath)})` : ''}`;
      try {
        for (const frame of FRAMES) {
          const color = path.join(options.gtDir, frame.color);
          const { width: W, height: H } = await probeSize(ffmpeg, color);
          const rgb = await raw(ffmpeg, color, 'rgb24');
          const depthBytes = await raw(ffmpeg, path.join(options.gtDir, frame.depth), 'gray16le');
          const truth = new Float32Array(W * H);
          for (let i = 0; i < W * H; i++) {
            const m = frame.metres(depthBytes.readUInt16LE(i * 2));
            truth[i] = m > 10 ? NaN : m;
          }
          // The network's own map, sampled at its pixel centres.
          const estimate = await model.estimate(rgb, W, H);
          const predicted: number[] = [];
          const nearness: number[] = [];
          for (let y = 0; y < estimate.height; y++) for (let x = 0; x < estimate.width; x++) {
            const m = truth[Math.floor(((y + 0.5) * H) / estimate.height) * W + Math.floor(((x + 0.5) * W) / estimate.width)]!;
            if (Number.isNaN(m)) continue;
            predicted.push(estimate.depth[y * estimate.width + x]!);
            nearness.push(1 / m);
          }
          // The pipeline: a one-second clip, everything in front of the screen (convergence 0).
          const clip = path.join(dir, 'clip.mp4');
          await exec(ffmpeg, ['-y', '-v', 'error', '-loop', '1', '-i', color, '-t', '1', '-r', '30', '-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', clip]);
          const result = await pool.run({ chunk: await readFile(clip), mode: 'sbs', outputHeight: options.outputHeight, strength: 0.03, convergence: 0 });
          const eyeW = result.width / 2;
          const gray = lastFrameGray(Buffer.concat([result.init, result.media]), result.width, result.height);
          const scale = W / eyeW;
          const pairs = blockDisparities(gray, result.width, result.height)
            .map((b) => ({ d: b.d, m: median(truth, W, H, (b.x - 8) * scale, (b.y - 8) * scale, (b.x + 8) * scale, (b.y + 8) * scale) }))
            .filter((p) => !Number.isNaN(p.m));
          const row: DepthRow = {
            frame: frame.name,
            model: label,
            mapSpearman: spearman(predicted, nearness),
            outputSpearman: spearman(pairs.map((p) => p.d), pairs.map((p) => 1 / p.m)),
            blocks: pairs.length,
          };
          rows.push(row);
          log(`${row.frame.padEnd(22)} ${row.model.padEnd(34)} map ${row.mapSpearman.toFixed(3).padStart(6)}   on screen ${row.outputSpearman.toFixed(3).padStart(6)} (${row.blocks} blocks)`);
        }
      } finally {
        await pool.close();
        await model.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}
