/**
 * Flicker, measured as testkit/flicker.ts measures it: a still picture slowly panned and zoomed, through
 * the pool chunk by chunk; each scene point's disparity followed from frame to frame (the 95th
 * percentile of its change). The temporal filter must lower it clearly on a synthetic still, and halve
 * it on a photograph (the SUN RGB-D corridor, where ../shared/data/depth-gt is at hand: STEREOSPOT_TEST_DEPTH_GT).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { convertInOrder } from '../../testkit/in-order.ts';
import { type Flicker, measureFlicker, panZoomChunks, panZoomPath } from '../../testkit/flicker.ts';
import { GpuPool } from '../index.ts';
import { ffmpeg } from '../../testkit/media.ts';

const exec = promisify(execFile);

const GT = process.env.STEREOSPOT_TEST_DEPTH_GT;

/** Flicker without and with the filter on a 2-s pan over a 640×480 still read from `input` (ffmpeg arguments). */
async function compare(t: Test, input: string[], dir: string): Promise<{ before: Flicker; after: Flicker }> {
  const [W, H] = [640, 480];
  const { stdout: still } = await exec(
    ffmpeg,
    ['-v', 'error', ...input, '-frames:v', '1', '-vf', `scale=${W}:${H}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { encoding: 'buffer', maxBuffer: 16 << 20 },
  );
  const camera = panZoomPath(W, H, 60);
  const chunks = await panZoomChunks(ffmpeg, dir, still, W, H, camera);
  t.equal(chunks.length, 4, 'two seconds in 0.5-s chunks');
  const flicker = async (stabiliseDepth: boolean) => {
    const pool = await GpuPool.create({ workers: 1, executionProvider: 'cpu', stabiliseDepth });
    try {
      const results = await convertInOrder(pool, chunks, { mode: 'sbs', outputHeight: 252, probe: true });
      t.equal(
        results.reduce((n, r) => n + r.disparity!.frames.length, 0),
        60,
        'a disparity map per frame',
      );
      return measureFlicker(
        results.map((r) => r.disparity!),
        camera,
      );
    } finally {
      await pool.close();
    }
  };
  const before = await flicker(false);
  const after = await flicker(true);
  t.comment(
    `flicker p95: ${before.p95.toFixed(3)} px unfiltered, ${after.p95.toFixed(3)} px filtered (median ${before.p50.toFixed(3)} → ${after.p50.toFixed(3)}; at chunk borders ${before.borderP95.toFixed(3)} → ${after.borderP95.toFixed(3)})`,
  );
  t.ok(before.p95 > 0.02, 'the measure sees the unfiltered depth move');
  t.ok(after.borderP95 <= before.borderP95, "chunk borders no worse: the filter's state carries across them");
  return { before, after };
}

t.test('the temporal filter lowers flicker on a panned and zoomed still', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-flicker-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // A still with detail at every scale and no motion of its own: one frame of the Mandelbrot set.
  const { before, after } = await compare(t, ['-f', 'lavfi', '-i', 'mandelbrot=size=640x480:start_scale=0.3'], dir);
  t.ok(after.p95 <= before.p95 * 0.75, `filtered: ${after.p95.toFixed(3)} ≤ ¾ of ${before.p95.toFixed(3)} px`);
});

// Skipped only where the photographs are not beside the project (.ci/run sets the variable).
t.test(
  'and halves it on a photograph',
  { skip: GT ? false : 'STEREOSPOT_TEST_DEPTH_GT is not set (../shared/data/depth-gt)' },
  async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-flicker-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const { before, after } = await compare(t, ['-i', path.join(GT!, 'SUN_color.jpg')], dir);
    t.ok(after.p95 <= before.p95 / 2, `filtered: ${after.p95.toFixed(3)} ≤ half of ${before.p95.toFixed(3)} px`);
  },
);
