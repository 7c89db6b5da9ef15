import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { FRAMES, measuredDepth, medianDepth, rawPicture, stillClip } from '../../testkit/depth-gt.ts';
import { GpuPool, loadDepthModel } from '../index.ts';
import { blockDisparities, spearman } from '../stereo-readback.ts';
import { decodeGray, writeCmafPlaylist } from '../../testkit/media.ts';

const MODEL = process.env.STEREOSPOT_TEST_DEPTH_MODEL;
const GT = process.env.STEREOSPOT_TEST_DEPTH_GT;
const missing =
  !MODEL || !existsSync(MODEL)
    ? 'STEREOSPOT_TEST_DEPTH_MODEL (fastdepth-224.onnx) is not set or not there'
    : !GT || !existsSync(path.join(GT, 'SUN_color.jpg'))
      ? 'STEREOSPOT_TEST_DEPTH_GT (the depth-gt folder) is not set or not there'
      : null;
if (missing) t.comment(`FastDepth ground-truth tests skipped: ${missing} (.ci/run sets both from ../shared)`);

const W = 640;
const H = 480;

/** SUN RGB-D's measured depth in metres (NaN where missing or beyond 10 m). */
const sunDepth = () => measuredDepth(GT!, FRAMES[0]!, W, H);

/** Median of the valid measured depth in a box of the 640×480 grid. */
const medianIn = (depth: Float32Array, x0: number, y0: number, x1: number, y1: number) => medianDepth(depth, W, H, x0, y0, x1, y1);

t.test(
  'FastDepth is recognised by its checksum, and its depth orders the SUN corridor as measured',
  { skip: missing ?? false },
  async (t) => {
    const model = await loadDepthModel({ modelPath: MODEL!, executionProvider: 'cpu', inputHeight: 224 });
    t.teardown(() => model.close());
    t.match(model.spec, { family: 'fastdepth', licence: 'MIT', output: { kind: 'metric-depth' } }, 'no sidecar needed for this file');
    t.same(model.inputSize(W, H), { width: 224, height: 224 }, 'its fixed 224×224, the frame squashed');
    const rgb = await rawPicture(path.join(GT!, 'SUN_color.jpg'), 'rgb24');
    const truth = await sunDepth();
    const { depth, width, height } = await model.estimate(rgb, W, H);
    const predicted: number[] = [];
    const nearness: number[] = [];
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const m = truth[Math.floor(((y + 0.5) * H) / height) * W + Math.floor(((x + 0.5) * W) / width)]!;
        if (Number.isNaN(m)) continue;
        predicted.push(depth[y * width + x]!);
        nearness.push(1 / m);
      }
    const rho = spearman(predicted, nearness);
    t.ok(
      rho > 0.85,
      `the map returned (inverse depth: larger = nearer) ranks the scene as measured: Spearman ${rho.toFixed(3)} (its README: 0.95)`,
    );
  },
);

t.test('through the pool, near things come out of the screen on the SUN frame', { skip: missing ?? false }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-sun-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // One second of the still photograph, as a capture client would cut it.
  const clip = await stillClip(path.join(GT!, 'SUN_color.jpg'), path.join(dir, 'sun.mp4'));
  const truth = await sunDepth();
  const eyeW = 320;
  const eyeH = 240;
  const measure = async (modelPath: string | null) => {
    const pool = await GpuPool.create({ workers: 1, executionProvider: 'cpu', warmupFrames: 0, modelPath, modelInputHeight: 224 });
    let result;
    try {
      result = await pool.run({ chunk: await readFile(clip), mode: 'sbs', outputHeight: eyeH, strength: 0.03, convergence: 0 });
    } finally {
      await pool.close();
    }
    const { playlist, cleanup } = await writeCmafPlaylist(result.init, [result]);
    const frames = await decodeGray(playlist, 2 * eyeW, eyeH).finally(cleanup);
    // The last frame: the depth range has settled over the second.
    const blocks = blockDisparities(frames.at(-1)!, 2 * eyeW, eyeH);
    const pairs = blocks
      .map((b) => ({ d: b.d, m: medianIn(truth, (b.x - 8) * 2, (b.y - 8) * 2, (b.x + 8) * 2, (b.y + 8) * 2) }))
      .filter((p) => !Number.isNaN(p.m));
    const rho = spearman(
      pairs.map((p) => p.d),
      pairs.map((p) => 1 / p.m),
    );
    const byDepth = [...pairs].sort((a, b) => a.m - b.m);
    const third = Math.floor(byDepth.length / 3);
    const mean = (list: typeof pairs) => list.reduce((s, p) => s + p.d, 0) / list.length;
    return { rho, blocks: pairs.length, nearest: mean(byDepth.slice(0, third)), farthest: mean(byDepth.slice(-third)) };
  };
  const fast = await measure(MODEL!);
  const builtin = await measure(null);
  t.comment(
    `disparity on screen vs measured nearness, Spearman over ${fast.blocks} blocks: FastDepth ${fast.rho.toFixed(3)}, built-in ${builtin.rho.toFixed(3)}`,
  );
  t.ok(fast.blocks >= 50, `enough textured blocks to measure (${fast.blocks})`);
  t.ok(fast.rho > 0.5, `the depth on screen follows the measured depth (Spearman ${fast.rho.toFixed(3)})`);
  t.ok(
    fast.nearest > 0 && fast.nearest > fast.farthest + 1,
    `the nearest third comes out of the screen (${fast.nearest.toFixed(2)} px) and sits in front of the farthest third (${fast.farthest.toFixed(2)} px)`,
  );
});
