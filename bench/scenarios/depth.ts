import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { defaultFfmpeg } from '../../capture-client/ffmpeg-path.ts';
import { parseOptions, type CaptureOptions } from '../../capture-client/options.ts';
import { CaptureRunner } from '../../capture-client/runner.ts';
import { blockDisparities, GpuPool, loadDepthModel, spearman } from '../../gpu-pool/index.ts';
import { modelsDir } from '../../gpu-pool/model-cache.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger, memorySink } from '../../server/log.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import { FRAMES, measuredDepth, medianDepth, pictureSize, rawPicture, stillClip } from '../../testkit/depth-gt.ts';
import { convertInOrder } from '../../testkit/in-order.ts';
import { grayFrames } from '../decode.ts';
import { measureFlicker, panZoomChunks, panZoomPath, CLIP_HEIGHT } from '../../testkit/flicker.ts';

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
  /** The network's map averaged over the same blocks as the screen is read at, vs measured nearness. */
  mapAtBlocksSpearman: number;
  /** Textured blocks the output figure is over. */
  blocks: number;
  /** Flicker p95 (px) on the panned and zoomed photograph, without and with the temporal filter. */
  flickerRaw: number;
  flicker: number;
}

export function defaultDepthOptions(): DepthOptions {
  return {
    gtDir: process.env.STEREOSPOT_TEST_DEPTH_GT ?? path.resolve('..', 'shared', 'data', 'depth-gt'),
    models: [null],
    outputHeight: 240,
  };
}

/** Mean of a map over a box of its grid. */
function mean(map: Float32Array, width: number, height: number, x0: number, y0: number, x1: number, y1: number): number {
  let sum = 0;
  let count = 0;
  for (let y = Math.max(0, Math.floor(y0)); y < Math.min(height, Math.ceil(y1)); y++) {
    for (let x = Math.max(0, Math.floor(x0)); x < Math.min(width, Math.ceil(x1)); x++) {
      sum += map[y * width + x]!;
      count++;
    }
  }
  return count === 0 ? NaN : sum / count;
}

/**
 * Streams `file` through the server as a user would (the capture client, `--source file:`), waits for
 * its playlist to close and returns the last segment with its init.
 */
async function throughServer(server: RunningServer, file: string, stereo: { strength: number; convergence: number }): Promise<Buffer> {
  // (Its JSON lines are not needed: the result names the playlist.)
  const stdout = new Writable({ write: (_chunk, _encoding, done) => done() });
  const capture = parseOptions([
    '--server',
    server.url,
    '--source',
    `file:${file}`,
    '--strength',
    String(stereo.strength),
    '--convergence',
    String(stereo.convergence),
    '--json',
    '--quiet',
  ]) as CaptureOptions;
  const result = await new CaptureRunner(capture, { stdout, stderr: process.stderr }).run();
  const { playlistUrl } = result;
  if (!result.closed || result.failed > 0)
    throw new Error(
      `the clip did not come through the server (${result.failed} chunk(s) failed; playlist ${result.closed ? 'closed' : 'open'})`,
    );
  const playlist = await (await fetch(playlistUrl)).text();
  const lines = playlist.split('\n');
  const segment = lines.filter((line) => line && !line.startsWith('#')).at(-1);
  const map = [...playlist.matchAll(/#EXT-X-MAP:URI="([^"]+)"/g)].at(-1)?.[1];
  if (!segment || !map) throw new Error(`no segment in ${playlistUrl}`);
  const [init, media] = await Promise.all(
    [map, segment].map(async (uri) => {
      const res = await fetch(new URL(uri, playlistUrl));
      if (!res.ok) throw new Error(`GET ${uri}: ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    }),
  );
  return Buffer.concat([init!, media!]);
}

/** Flicker p95 on the photograph panned and zoomed, through `pool` chunk by chunk (a live session's order). */
async function flickerOf(pool: GpuPool, chunks: Buffer[], camera: ReturnType<typeof panZoomPath>): Promise<number> {
  const results = await convertInOrder(pool, chunks, { mode: 'sbs', outputHeight: CLIP_HEIGHT, probe: true });
  return measureFlicker(
    results.map((r) => r.disparity!),
    camera,
  ).p95;
}

/** Every network in the model cache (MODELS_DIR), by path. */
export function cachedModels(env: Record<string, string | undefined> = process.env): string[] {
  const dir = modelsDir(env);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.onnx'))
    .sort()
    .map((name) => path.join(dir, name));
}

export async function runDepth(options: DepthOptions, log: (line: string) => void): Promise<DepthRow[]> {
  if (!existsSync(path.join(options.gtDir, 'SUN_color.jpg'))) {
    throw new Error(`no photographs with measured depth in ${options.gtDir}: pass --gt DIR (or set STEREOSPOT_TEST_DEPTH_GT)`);
  }
  const ffmpeg = defaultFfmpeg(process.env);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-bench-depth-'));
  const rows: DepthRow[] = [];
  log(
    `${'photograph'.padEnd(22)} ${'network'.padEnd(34)} ${'map'.padStart(6)} ${'(blocks)'.padStart(8)} ${'on screen'.padStart(10)}   flicker p95 (filter off → on)`,
  );
  try {
    for (const modelPath of options.models) {
      const model = await loadDepthModel({ modelPath, executionProvider: 'cpu', inputHeight: 252 });
      const label = `${model.spec.family}${modelPath ? ` (${path.basename(modelPath)})` : ''}`;
      const dataDir = await mkdtemp(path.join(dir, 'data-'));
      const env = {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        OUTPUT_HEIGHT: String(options.outputHeight),
        GPU_POOL_WORKERS: '1',
        DEPTH_MODEL: '',
        DEPTH_MODEL_PATH: modelPath ?? '',
      };
      const server = await startServer(loadConfig(env), { log: createLogger('server', memorySink('warn')) });
      const pools = await Promise.all(
        [false, true].map((stabiliseDepth) => GpuPool.create({ workers: 1, executionProvider: 'auto', modelPath, stabiliseDepth })),
      );
      try {
        for (const frame of FRAMES) {
          const color = path.join(options.gtDir, frame.color);
          const { width: W, height: H } = await pictureSize(color);
          const rgb = await rawPicture(color, 'rgb24');
          const truth = await measuredDepth(options.gtDir, frame, W, H);
          // The network's own map, sampled at its pixel centres.
          const estimate = await model.estimate(rgb, W, H);
          const predicted: number[] = [];
          const nearness: number[] = [];
          for (let y = 0; y < estimate.height; y++)
            for (let x = 0; x < estimate.width; x++) {
              const m = truth[Math.floor(((y + 0.5) * H) / estimate.height) * W + Math.floor(((x + 0.5) * W) / estimate.width)]!;
              if (Number.isNaN(m)) continue;
              predicted.push(estimate.depth[y * estimate.width + x]!);
              nearness.push(1 / m);
            }
          // Through the server: a one-second clip, everything in front of the screen (convergence 0).
          const clip = await stillClip(color, path.join(dir, 'clip.mp4'));
          const [last] = grayFrames(await throughServer(server, clip, { strength: 0.03, convergence: 0 }), 'last');
          if (!last) throw new Error(`${frame.name}: the server's segment has no frame`);
          const { gray, width, height } = last;
          const scale = W / (width / 2);
          // The network's map over each block's area too: the same places the screen is measured at.
          const mapScaleX = estimate.width / (width / 2);
          const mapScaleY = estimate.height / height;
          const pairs = blockDisparities(gray, width, height)
            .map((b) => ({
              d: b.d,
              m: medianDepth(truth, W, H, (b.x - 8) * scale, (b.y - 8) * scale, (b.x + 8) * scale, (b.y + 8) * scale),
              map: mean(
                estimate.depth,
                estimate.width,
                estimate.height,
                (b.x - 8) * mapScaleX,
                (b.y - 8) * mapScaleY,
                (b.x + 8) * mapScaleX,
                (b.y + 8) * mapScaleY,
              ),
            }))
            .filter((p) => !Number.isNaN(p.m));
          // Flicker: the photograph panned and zoomed, through a pool without and with the filter.
          const panDir = await mkdtemp(path.join(dir, 'pan-'));
          const camera = panZoomPath(W, H);
          const chunks = await panZoomChunks(ffmpeg, panDir, rgb, W, H, camera);
          const [flickerRaw, flicker] = [await flickerOf(pools[0]!, chunks, camera), await flickerOf(pools[1]!, chunks, camera)];
          const row: DepthRow = {
            frame: frame.name,
            model: label,
            mapSpearman: spearman(predicted, nearness),
            outputSpearman: spearman(
              pairs.map((p) => p.d),
              pairs.map((p) => 1 / p.m),
            ),
            mapAtBlocksSpearman: spearman(
              pairs.map((p) => p.map),
              pairs.map((p) => 1 / p.m),
            ),
            blocks: pairs.length,
            flickerRaw: flickerRaw!,
            flicker: flicker!,
          };
          rows.push(row);
          log(
            `${row.frame.padEnd(22)} ${row.model.padEnd(34)} ${row.mapSpearman.toFixed(3).padStart(6)} ${row.mapAtBlocksSpearman.toFixed(3).padStart(8)} ${row.outputSpearman.toFixed(3).padStart(10)}   ${row.flickerRaw.toFixed(3)} → ${row.flicker.toFixed(3)} px   (${row.blocks} blocks)`,
          );
        }
      } finally {
        await Promise.all(pools.map((pool) => pool.close()));
        await server.close();
        await model.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}
