/**
 * Depth must not pop at chunk borders, however chunks are scheduled: chunks of a zooming fractal are
 * converted in parallel and in reverse order, the output is decoded by ffmpeg, and the disparity
 * between the eyes is read off every frame by block matching. No border may jump more than
 * neighbouring frames inside a chunk do. Without the warm-up it does, so the measurement can fail.
 */
import t from 'tap';
import { GpuPool, type ChunkResult } from '../index.ts';
import { meanDisparity } from '../stereo-readback.ts';
import { decodeGray, makeChunks, writeCmafPlaylist } from '../../testkit/media.ts';

const WIDTH = 320;
const HEIGHT = 180;

async function jumps(chunks: Buffer[], warmupFrames: number): Promise<{ inside: number; border: number }> {
  const pool = await GpuPool.create({ workers: 2, executionProvider: 'cpu', warmupFrames });
  const results: ChunkResult[] = [];
  try {
    const order = chunks.map((_, i) => i).reverse();
    await Promise.all(
      order.map(async (i) => {
        const previous = i > 0 ? Buffer.from(chunks[i - 1]!) : null;
        results[i] = await pool.run({ chunk: Buffer.from(chunks[i]!), previous, mode: 'sbs', outputHeight: HEIGHT });
      }),
    );
  } finally {
    await pool.close();
  }
  const { playlist, cleanup } = await writeCmafPlaylist(results[0]!.init, results);
  const frames = await decodeGray(playlist, 2 * WIDTH, HEIGHT).finally(cleanup);
  const disparity = frames.map((f) => meanDisparity(f, 2 * WIDTH, HEIGHT));
  const borders = new Set<number>();
  let first = 0;
  for (const r of results.slice(0, -1)) borders.add((first += r.frames));
  let inside = 0;
  let border = 0;
  for (let i = 1; i < disparity.length; i++) {
    const jump = Math.abs(disparity[i]! - disparity[i - 1]!);
    if (borders.has(i)) border = Math.max(border, jump);
    else inside = Math.max(inside, jump);
  }
  return { inside, border };
}

t.test('disparity changes across every chunk border no more than between frames inside a chunk', async (t) => {
  const chunks = await makeChunks({
    video: `mandelbrot=size=${WIDTH}x${HEIGHT}:rate=30:start_scale=2:end_scale=0.05:end_pts=120`,
    seconds: 4,
    chunkSeconds: 0.5,
  });
  t.equal(chunks.length, 8);
  const warm = await jumps(chunks, 15);
  t.ok(warm.inside > 0, `the zoom moves the depth (largest step inside a chunk ${warm.inside.toFixed(3)} px)`);
  t.ok(warm.border <= warm.inside + 0.02, `borders ${warm.border.toFixed(3)} px ≤ inside ${warm.inside.toFixed(3)} px`);
  const cold = await jumps(chunks, 0);
  t.ok(
    cold.border > cold.inside,
    `without the warm-up a border jumps (${cold.border.toFixed(3)} px > ${cold.inside.toFixed(3)} px): the test sees it`,
  );
});
