/**
 * Pipeline throughput: chunks of a 30 fps test source through the real GPU pool, with as many chunks
 * in flight as there are workers (as one live session runs). Reports seconds per chunk, the realtime
 * factor (media seconds per wall second) and each stage's share of the summed stage time. With
 * `modelPath` a depth network instead of the built-in estimator (`heavy`: the deliberately heavy test
 * graph, testkit/heavy-model.ts); with several `depthFps`, a row per depth rate (0: every frame; 'auto':
 * the automatic rate), showing what running the network less often buys — and what it costs: each
 * row's output is decoded and its disparity read back, block by block, against the every-frame row's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { StereoMode } from '../../protocol/layout.ts';
import { defaultFfmpeg } from '../../capture-client/ffmpeg-path.ts';
import { GpuPool, blockDisparities, defaultWorkerCount, type ChunkResult } from '../../gpu-pool/index.ts';
import { grayFrames } from '../decode.ts';
import { writeHeavyModel } from '../../testkit/heavy-model.ts';
import { generateChunks } from '../media.ts';
import { floorRealtime } from './pipeline-floor.ts';

export interface PipelineOptions {
  sizes: Array<[number, number]>;
  fps: number;
  chunks: number;
  chunkSeconds: number;
  workers: number;
  mode: StereoMode;
  /** A depth network (DEPTH_MODEL_PATH), 'heavy' (the heavy test graph); null: the built-in estimator. */
  modelPath: string | null;
  /** Depth estimates per second to compare (0: every frame; 'auto': the automatic rate). */
  depthFps: Array<number | 'auto'>;
}

export interface PipelineRow {
  source: string;
  /** The network and how often it ran, e.g. `fastdepth, every frame` or `fastdepth, 10/s`. */
  depth: string;
  /** Network runs per frame (1: every frame). */
  depthRunsPerFrame: number;
  output: string;
  workers: number;
  chunks: number;
  mediaSeconds: number;
  wallSeconds: number;
  secondsPerChunk: number;
  realtimeFactor: number;
  shares: { decode: number; depth: number; stereo: number; encode: number };
  perFrameMs: { depth: number; stereo: number };
  /**
   * Mean absolute difference (px) of the disparity read back off this row's output and the every-frame
   * row's, over every textured block of every frame; null without an every-frame row to compare with.
   */
  depthErrorPx: number | null;
  /** ffmpeg's decode → hstack → x264 of the same chunks, no depth (pipeline-floor.ts), and ours ÷ it. */
  floorRealtimeFactor: number;
  ofFloor: number;
}

export const defaultPipelineOptions = (): PipelineOptions => ({
  sizes: [
    [640, 360],
    [1280, 720],
  ],
  fps: 30,
  chunks: 6,
  chunkSeconds: 2,
  workers: defaultWorkerCount(),
  mode: 'sbs',
  modelPath: null,
  depthFps: [0],
});

export async function runPipeline(options: PipelineOptions, log: (line: string) => void): Promise<PipelineRow[]> {
  const ffmpeg = defaultFfmpeg(process.env);
  log(`${options.workers} worker(s); ${os.cpus().length} CPU(s); test media made with ${ffmpeg}`);
  const rows: PipelineRow[] = [];
  const heavyDir = options.modelPath === 'heavy' ? await mkdtemp(path.join(os.tmpdir(), 'stereospot-heavy-')) : null;
  const modelPath = heavyDir ? await writeHeavyModel(heavyDir) : options.modelPath;
  // Each size's every-frame output, for the rows at other rates to be compared with.
  const reference = new Map<string, ChunkResult[]>();
  try {
    for (const depthFps of options.depthFps) {
      const pool = await GpuPool.create({ workers: options.workers, executionProvider: 'auto', modelPath, depthFps });
      const info = pool.info();
      const rate = depthFps === 'auto' ? 'auto' : depthFps > 0 ? `${depthFps}/s` : 'every frame';
      const depth = `${heavyDir ? 'heavy test graph' : info.family}, ${rate}`;
      log(`depth model: ${heavyDir ? 'the heavy test graph' : info.model} (${info.family}) on ${info.provider}, ${rate}`);
      try {
        rows.push(...(await runSizes(pool, depth, depthFps === 0, reference, options, log)));
      } finally {
        await pool.close();
      }
    }
  } finally {
    if (heavyDir) await rm(heavyDir, { recursive: true, force: true });
  }
  return rows;
}

/** Each frame's textured blocks' disparity, read back off converted chunks. */
function readBack(results: ChunkResult[]): Array<Map<string, number>> {
  const frames: Array<Map<string, number>> = [];
  for (const r of results) {
    for (const f of grayFrames(Buffer.concat([r.init, r.media]))) {
      frames.push(new Map(blockDisparities(f.gray, f.width, f.height).map((b) => [`${b.x},${b.y}`, b.d])));
    }
  }
  return frames;
}

/** Mean |Δd| (px) over the blocks both outputs have, frame by frame. */
function depthError(results: ChunkResult[], reference: ChunkResult[]): number {
  const a = readBack(results);
  const b = readBack(reference);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    for (const [block, d] of a[i]!) {
      const other = b[i]!.get(block);
      if (other === undefined) continue;
      sum += Math.abs(d - other);
      count++;
    }
  }
  return count > 0 ? sum / count : NaN;
}

async function runSizes(
  pool: GpuPool,
  depth: string,
  everyFrame: boolean,
  reference: Map<string, ChunkResult[]>,
  options: PipelineOptions,
  log: (line: string) => void,
): Promise<PipelineRow[]> {
  const rows: PipelineRow[] = [];
  for (const [width, height] of options.sizes) {
    log(`generating ${options.chunks} × ${options.chunkSeconds}s chunks at ${width}×${height}@${options.fps}…`);
    const chunks = await generateChunks({
      width,
      height,
      fps: options.fps,
      chunks: options.chunks,
      chunkSeconds: options.chunkSeconds,
    });
    // Warm-up chunk (not measured): first-touch costs of libav and the model.
    await pool.run({ chunk: Buffer.from(chunks[0]!), mode: options.mode, outputHeight: height });
    const results: ChunkResult[] = [];
    const t0 = performance.now();
    let next = 0;
    const lane = async () => {
      while (next < chunks.length) {
        const i = next++;
        // As the server runs a session: each chunk gets its predecessor for the depth warm-up.
        const previous = i > 0 ? Buffer.from(chunks[i - 1]!) : null;
        results[i] = await pool.run({ chunk: Buffer.from(chunks[i]!), previous, mode: options.mode, outputHeight: height });
      }
    };
    await Promise.all(Array.from({ length: options.workers }, lane));
    const wall = (performance.now() - t0) / 1000;
    const media = results.reduce((a, r) => a + r.duration, 0);
    const frames = results.reduce((a, r) => a + r.frames, 0);
    const sum = { decode: 0, depth: 0, stereo: 0, encode: 0 };
    for (const r of results) for (const k of Object.keys(sum) as Array<keyof typeof sum>) sum[k] += r.timings[k];
    const total = sum.decode + sum.depth + sum.stereo + sum.encode;
    const key = `${width}x${height}`;
    if (everyFrame) reference.set(key, results);
    // Measured right after ours, on the same chunks, in as many lanes: the two share the machine's mood.
    const floor = await floorRealtime(defaultFfmpeg(process.env), chunks, options.chunkSeconds, height, options.workers);
    const against = reference.get(key);
    const row: PipelineRow = {
      source: `${width}x${height}@${options.fps}`,
      depth,
      depthRunsPerFrame: results.reduce((a, r) => a + r.depthRuns, 0) / frames,
      output: `${results[0]!.width}x${results[0]!.height}`,
      workers: options.workers,
      chunks: results.length,
      mediaSeconds: media,
      wallSeconds: wall,
      secondsPerChunk: wall / results.length,
      realtimeFactor: media / wall,
      shares: {
        decode: sum.decode / total,
        depth: sum.depth / total,
        stereo: sum.stereo / total,
        encode: sum.encode / total,
      },
      perFrameMs: { depth: sum.depth / frames, stereo: sum.stereo / frames },
      depthErrorPx: against && !everyFrame ? depthError(results, against) : everyFrame ? 0 : null,
      floorRealtimeFactor: floor,
      ofFloor: media / wall / floor,
    };
    rows.push(row);
    log(formatRow(row));
  }
  return rows;
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`.padStart(4);

export function formatRow(r: PipelineRow): string {
  return [
    r.source.padEnd(16),
    r.depth.padEnd(26),
    r.output.padEnd(10),
    `${r.secondsPerChunk.toFixed(2)} s/chunk`.padEnd(13),
    `RTF ${r.realtimeFactor.toFixed(2)}×`.padEnd(11),
    `(ffmpeg floor ${r.floorRealtimeFactor.toFixed(2)}×: ours ÷ floor ${r.ofFloor.toFixed(2)})`,
    `decode ${pct(r.shares.decode)}  depth ${pct(r.shares.depth)}  stereo ${pct(r.shares.stereo)}  encode ${pct(r.shares.encode)}`,
    `(depth ${r.perFrameMs.depth.toFixed(1)} ms/frame, stereo ${r.perFrameMs.stereo.toFixed(1)} ms/frame)`,
    `network on ${(r.depthRunsPerFrame * 100).toFixed(0)}% of frames`,
    r.depthErrorPx === null ? '' : `disparity vs every frame ${r.depthErrorPx.toFixed(3)} px`,
  ].join(' ');
}
