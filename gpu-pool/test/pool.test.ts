/** The real pool: worker threads, libav in-process, the built-in model; output checked with the ffmpeg executable. */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { writeHeavyModel } from '../../testkit/heavy-model.ts';
import { convertInOrder } from '../../testkit/in-order.ts';
import { until } from '../../testkit/server.ts';
import { GpuPool, type ChunkResult } from '../index.ts';
import { meanDisparity } from '../stereo-readback.ts';
import { decodeGray, decodeWarnings, ffmpeg, makeChunks, oneFrameWithSound, writeCmafPlaylist } from '../../testkit/media.ts';

const ORIGIN_US = 1_795_000_000_123_456;

t.test('consecutive chunks become CMAF segments that play as one continuous stream', async (t) => {
  const chunks = await makeChunks({
    video: 'testsrc2=size=160x90:rate=30',
    audio: true,
    seconds: 2,
    chunkSeconds: 0.5,
    originMicros: ORIGIN_US,
  });
  t.equal(chunks.length, 4);
  const pool = await GpuPool.create({ workers: 2, executionProvider: 'cpu' });
  t.teardown(() => pool.close());
  // In parallel, as a live session runs them; each chunk gets its predecessor for the depth warm-up.
  const results = await Promise.all(
    chunks.map((chunk, i) =>
      pool.run({
        chunk: Buffer.from(chunk),
        previous: i > 0 ? Buffer.from(chunks[i - 1]!) : null,
        mode: 'sbs',
        outputHeight: 360,
      }),
    ),
  );
  t.same(
    results.map((r) => [r.width, r.height, r.frames, r.hasAudio, r.warmedUp]),
    [
      [320, 90, 15, true, false],
      [320, 90, 15, true, true],
      [320, 90, 15, true, true],
      [320, 90, 15, true, true],
    ],
    'SBS doubles the width, never upscales; every chunk after the first is warmed up',
  );
  t.ok(
    results.every((r) => Buffer.compare(Buffer.from(r.init), Buffer.from(results[0]!.init)) === 0),
    'one init segment for the session',
  );
  t.match(results[0]!.codecs, /^avc1\.42[0-9A-F]{4},mp4a\.40\.2$/, 'codecs for Media Source Extensions');
  t.ok(
    results.every((r) => r.origin === ORIGIN_US / 1000),
    'the capture origin travels with the media',
  );
  for (let i = 1; i < results.length; i++) {
    const gap = results[i]!.start - (results[i - 1]!.start + results[i - 1]!.duration);
    t.ok(Math.abs(gap) < 0.002, `segment ${i} starts where ${i - 1} ended (${gap.toFixed(4)} s)`);
  }
  const { playlist, cleanup } = await writeCmafPlaylist(results[0]!.init, results);
  t.teardown(cleanup);
  t.equal(await decodeWarnings(playlist), '', 'ffmpeg decodes the CMAF playlist without a warning');
  // Each worker reports its own heap (worker-memory.ts): one row per thread, real figures.
  const deadline = Date.now() + 10_000;
  while (pool.workerMemory().size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const memory = [...pool.workerMemory().values()];
  t.equal(memory.length, 2, 'one heap report per worker thread');
  t.ok(
    memory.every((m) => m.heapUsedBytes > 0 && m.heapTotalBytes >= m.heapUsedBytes && m.externalBytes > 0),
    'each a real figure',
  );
});

t.test('chunks at different frame rates share one init (a recorder whose rate changes makes no discontinuity)', async (t) => {
  const pool = await GpuPool.create({ workers: 1, executionProvider: 'cpu' });
  t.teardown(() => pool.close());
  const inits = [];
  for (const rate of [24, 30, 60]) {
    // One recorder, one clock: the timescale stays, the rate changes (a browser's pieces do this).
    const [chunk] = await makeChunks({ video: `testsrc2=size=160x90:rate=${rate}`, seconds: 0.5, chunkSeconds: 0.5, timescale: 90000 });
    const result = await pool.run({ chunk: Buffer.from(chunk!), mode: 'sbs', outputHeight: 90 });
    t.equal(result.fps, rate, `${rate} fps read from the chunk`);
    inits.push(Buffer.from(result.init).toString('hex'));
  }
  t.equal(new Set(inits).size, 1, 'one init for 24, 30 and 60 fps');
});

t.test('a chunk with one frame and a second of sound holds its picture for the whole second', async (t) => {
  const pool = await GpuPool.create({ workers: 1, executionProvider: 'cpu' });
  t.teardown(() => pool.close());
  const result = await pool.run({ chunk: await oneFrameWithSound(1), mode: 'sbs', outputHeight: 90 });
  t.ok(Math.abs(result.duration - 1) < 0.07, `the segment lasts as long as its sound (${result.duration.toFixed(3)} s)`);
  t.ok(result.frames >= 28, `the picture is held (${result.frames} frames)`);
  const { playlist, cleanup } = await writeCmafPlaylist(result.init, [result]);
  t.teardown(cleanup);
  t.equal(await decodeWarnings(playlist), '', 'it decodes cleanly');
});

t.test('garbage and truncated chunks reject with a clear error; the pool keeps serving', async (t) => {
  const [good] = await makeChunks({ video: 'testsrc2=size=160x90:rate=30', seconds: 1, chunkSeconds: 1 });
  const pool = await GpuPool.create({ workers: 1, executionProvider: 'cpu' });
  t.teardown(() => pool.close());
  await t.rejects(pool.run({ chunk: Buffer.from('definitely not a video'), mode: 'sbs', outputHeight: 90 }), /not a decodable video/);
  await t.rejects(
    pool.run({ chunk: good!.subarray(0, good!.length >> 1), mode: 'sbs', outputHeight: 90 }),
    /not a decodable video|decoding failed/,
  );
  // A broken previous chunk only costs the warm-up.
  const r = await pool.run({ chunk: Buffer.from(good!), previous: Buffer.from('junk'), mode: 'anaglyph', outputHeight: 90 });
  t.equal(r.width, 160, 'anaglyph keeps the width');
  t.notOk(r.warmedUp, 'no warm-up from an undecodable previous chunk');
  t.notOk(r.hasAudio, 'the chunk had no sound');
  t.match(r.codecs, /^avc1\.[0-9A-F]{6},mp4a\.40\.2$/, 'its segment has a silent track: every segment has the same tracks');
  t.equal(r.origin, null, 'no origin when the chunk carries none');
  t.same(readdirSync(pool.scratchDir), [], 'the scratch folder holds nothing between chunks, failed ones included');
  t.equal(statSync(pool.scratchDir).mode & 0o777, 0o700, 'and is private');
  await Promise.all([pool.close(), pool.close()]);
  t.notOk(existsSync(pool.scratchDir), 'closing removes it');
  await t.rejects(pool.run({ chunk: Buffer.from(good!), mode: 'sbs', outputHeight: 90 }), /closed/);
});

t.test('a cancelled conversion stops at a frame boundary: its thread lives on and converts the next chunk', async (t) => {
  const [long, short] = await makeChunks({ video: 'testsrc2=size=320x180:rate=30', seconds: 5, chunkSeconds: 4 });
  const pool = await GpuPool.create({ workers: 1, executionProvider: 'cpu', warmupFrames: 0 });
  t.teardown(() => pool.close());
  const threads = pool.threadIds();
  // Cancelled while it runs (the worker has taken it from the queue).
  const running = new AbortController();
  const started = Date.now();
  const cancelled = pool.run({ chunk: Buffer.from(long!), mode: 'sbs', outputHeight: 180 }, { signal: running.signal });
  await until(() => pool.stats().queueSize === 0, 'the worker to take the task');
  running.abort();
  await t.rejects(cancelled, /the conversion was cancelled/);
  const cancelMs = Date.now() - started;
  // Cancelled while it waits behind another: it never runs.
  const first = pool.run({ chunk: Buffer.from(short!), mode: 'sbs', outputHeight: 180 });
  const waiting = new AbortController();
  const queued = pool.run({ chunk: Buffer.from(long!), mode: 'sbs', outputHeight: 180 }, { signal: waiting.signal });
  waiting.abort();
  await t.rejects(queued, /the conversion was cancelled/);
  // Cancelled before it was submitted.
  await t.rejects(pool.run({ chunk: Buffer.from(short!), mode: 'sbs', outputHeight: 180 }, { signal: AbortSignal.abort() }), /cancelled/);
  t.equal((await first).frames, 30, 'the chunk after a cancelled one converts whole');
  t.same(pool.threadIds(), threads, 'on the same thread: cancelling never terminates a worker');
  const whole = Date.now();
  await pool.run({ chunk: Buffer.from(long!), mode: 'sbs', outputHeight: 180 });
  t.comment(`cancelled after ${cancelMs} ms; the whole chunk takes ${Date.now() - whole} ms`);
});

t.test('GpuPool.create validates its options', async (t) => {
  await t.rejects(GpuPool.create({ workers: 0 }), /options.workers must be a positive integer/);
  await t.rejects(GpuPool.create({ workers: 1, warmupFrames: -1 }), /options.warmupFrames must be a non-negative integer/);
});

t.test('depth at a lower rate: the network runs on every third frame, every frame is still written', async (t) => {
  const [chunk] = await makeChunks({
    video: 'mandelbrot=size=160x90:rate=30:start_scale=2:end_scale=0.5:end_pts=60',
    seconds: 1,
    chunkSeconds: 1,
  });
  const measure = async (depthFps: number) => {
    const pool = await GpuPool.create({ workers: 1, executionProvider: 'cpu', warmupFrames: 0, depthFps });
    try {
      return await pool.run({ chunk: Buffer.from(chunk!), mode: 'sbs', outputHeight: 90 });
    } finally {
      await pool.close();
    }
  };
  const every = await measure(0);
  const third = await measure(10);
  t.equal(every.frames, 30);
  t.equal(every.depthRuns, 30, 'DEPTH_FPS=0: depth on every frame');
  t.equal(third.frames, 30, 'as many frames out as in');
  t.equal(third.depthRuns, 10, 'DEPTH_FPS=10 at 30 fps: the network ran on every third frame');
  t.ok(Math.abs(third.duration - every.duration) < 1e-9, 'and the segment lasts as long');
  const disparities = async (result: typeof every) => {
    const { playlist, cleanup } = await writeCmafPlaylist(result.init, [result]);
    const frames = await decodeGray(playlist, 320, 90).finally(cleanup);
    return frames.map((f) => meanDisparity(f, 320, 90));
  };
  const a = await disparities(every);
  const b = await disparities(third);
  t.equal(b.length, 30, 'the decoder sees every frame');
  const gap = Math.max(...a.map((d, i) => Math.abs(d - b[i]!)));
  const step = (list: number[]) => Math.max(...list.slice(1).map((d, i) => Math.abs(d - list[i]!)));
  t.comment(
    `mean disparity per frame: largest difference from every-frame depth ${gap.toFixed(3)} px; largest step ${step(b).toFixed(3)} px (every frame: ${step(a).toFixed(3)} px)`,
  );
  t.ok(gap < 0.25, `interpolated depth stays close to depth on every frame (at most ${gap.toFixed(3)} px apart)`);
  await t.rejects(GpuPool.create({ workers: 1, depthFps: -1 }), /options.depthFps must be a non-negative number or 'auto'/);
});

t.test('a chunk whose predecessor this pool converted goes on from its state: no warm-up, and the same depth as after one', async (t) => {
  const chunks = await makeChunks({
    video: 'mandelbrot=size=160x90:rate=30:start_scale=2:end_scale=0.5:end_pts=60',
    seconds: 1.5,
    chunkSeconds: 0.5,
  });
  const disparities = async (result: ChunkResult) => {
    const { playlist, cleanup } = await writeCmafPlaylist(result.init, [result]);
    const frames = await decodeGray(playlist, 320, 90).finally(cleanup);
    return frames.map((f) => meanDisparity(f, 320, 90));
  };
  for (const depthFps of [0, 10]) {
    // In order, each after its predecessor is done (a live session whose chunks convert faster than they come).
    const carried = await GpuPool.create({ workers: 2, executionProvider: 'cpu', depthFps });
    let inOrder: ChunkResult[];
    try {
      inOrder = await convertInOrder(carried, chunks, { mode: 'sbs', outputHeight: 90 });
    } finally {
      await carried.close();
    }
    // The same chunks in another pool, newest first: no predecessor is converted yet, every warm-up runs.
    const fresh = await GpuPool.create({ workers: 1, executionProvider: 'cpu', depthFps });
    const alone = [];
    try {
      for (let i = chunks.length - 1; i >= 1; i--) {
        alone.unshift(
          await fresh.run({ chunk: Buffer.from(chunks[i]!), previous: Buffer.from(chunks[i - 1]!), mode: 'sbs', outputHeight: 90 }),
        );
      }
    } finally {
      await fresh.close();
    }
    const rate = depthFps ? `${depthFps}/s` : 'every frame';
    t.same(
      inOrder.slice(1).map((r) => [r.warmedUp, r.depthCarried, r.warmUpRuns]),
      [
        [true, true, 0],
        [true, true, 0],
      ],
      `${rate}: the state was carried, the network did not run on the previous chunk`,
    );
    t.same(
      alone.map((r) => [r.warmedUp, r.depthCarried]),
      [
        [true, false],
        [true, false],
      ],
      `${rate}: without it the warm-up ran`,
    );
    t.same(
      alone.map((r) => r.warmUpRuns),
      [5, 5],
      `${rate}: on a few of the previous chunk's last frames (of the last 15, those at least 3 apart)`,
    );
    // The warm-up rebuilds the state from a few frames; carried, it is the state the last frame was drawn
    // with. The two agree to within what the eye cannot see.
    for (let i = 0; i < alone.length; i++) {
      const a = await disparities(inOrder[i + 1]!);
      const b = await disparities(alone[i]!);
      const gap = Math.max(...a.map((d, k) => Math.abs(d - b[k]!)));
      t.ok(gap < 0.15, `${rate}: chunk ${i + 1}'s mean disparity per frame is within ${gap.toFixed(3)} px either way`);
    }
  }
});

t.test('DEPTH_FPS=auto: a heavy network runs on some frames only, a light one on every frame', async (t) => {
  const [chunk] = await makeChunks({
    video: 'mandelbrot=size=160x90:rate=30:start_scale=2:end_scale=0.5:end_pts=60',
    seconds: 1,
    chunkSeconds: 1,
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-heavy-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const heavy = await writeHeavyModel(dir);
  const run = async (modelPath: string | null) => {
    const pool = await GpuPool.create({ workers: 1, executionProvider: 'cpu', warmupFrames: 0, depthFps: 'auto', modelPath });
    try {
      return await pool.run({ chunk: Buffer.from(chunk!), mode: 'sbs', outputHeight: 90 });
    } finally {
      await pool.close();
    }
  };
  const light = await run(null);
  const slow = await run(heavy);
  t.comment(
    `built-in: every ${light.depthInterval} frame(s), ${light.timings.total.toFixed(0)} ms; heavy graph: every ${slow.depthInterval} frames, ${slow.depthRuns} runs, ${slow.timings.total.toFixed(0)} ms for a 1-s chunk (${(slow.timings.depth / slow.depthRuns).toFixed(0)} ms per estimate)`,
  );
  t.same([light.frames, light.depthRuns, light.depthInterval], [30, 30, 1], 'the built-in estimator is cheap enough for every frame');
  t.equal(slow.frames, 30, 'every frame is written');
  t.ok(
    slow.depthInterval > 1 && slow.depthInterval <= 15,
    `the heavy graph runs every ${slow.depthInterval} frames (at least twice a second)`,
  );
  t.equal(slow.depthRuns, Math.ceil(30 / slow.depthInterval), 'on those frames only');
});

t.test('several frames per network run (DEPTH_BATCH, for GPUs) give the same depth as one at a time', async (t) => {
  const chunks = await makeChunks({
    video: 'mandelbrot=size=160x90:rate=30:start_scale=2:end_scale=0.5:end_pts=60',
    seconds: 1,
    chunkSeconds: 0.5,
  });
  const convert = async (depthBatch: number, depthFps: number) => {
    const pool = await GpuPool.create({ workers: 1, executionProvider: 'cpu', depthBatch, depthFps });
    try {
      return await convertInOrder(pool, chunks, { mode: 'sbs', outputHeight: 90 });
    } finally {
      await pool.close();
    }
  };
  const perFrame = async (results: ChunkResult[]) => {
    const { playlist, cleanup } = await writeCmafPlaylist(results[0]!.init, results);
    const frames = await decodeGray(playlist, 320, 90).finally(cleanup);
    return frames.map((f) => meanDisparity(f, 320, 90));
  };
  for (const depthFps of [0, 10]) {
    const one = await convert(1, depthFps);
    const four = await convert(4, depthFps);
    t.same(
      four.map((r) => [r.frames, r.depthRuns]),
      one.map((r) => [r.frames, r.depthRuns]),
      `${depthFps || 'every'}: the same frames and network runs`,
    );
    const a = await perFrame(one);
    const b = await perFrame(four);
    const gap = Math.max(...a.map((d, i) => Math.abs(d - b[i]!)));
    t.ok(gap < 0.01, `${depthFps || 'every'}: mean disparity per frame within ${gap.toFixed(4)} px`);
  }
  await t.rejects(GpuPool.create({ workers: 1, depthBatch: 0 }), /options.depthBatch must be an integer from 1 to 32/);
});

t.test("depth at a lower rate across a scene cut: the frames after the cut take the new scene's depth, not a blend", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-cut-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'cut.mp4');
  // 16 frames of one scene, then 14 of another: the cut falls on frame 16, between two estimates (0, 3 … 15, 18).
  await promisify(execFile)(ffmpeg, [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x90:rate=30',
    '-f',
    'lavfi',
    '-i',
    'mandelbrot=size=160x90:rate=30',
    '-filter_complex',
    '[0:v]trim=end_frame=16,setpts=PTS-STARTPTS[a];[1:v]trim=end_frame=14,setpts=PTS-STARTPTS[b];[a][b]concat=n=2:v=1[v]',
    '-map',
    '[v]',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '30',
    file,
  ]);
  const chunk = await readFile(file);
  const disparities = async (depthFps: number) => {
    const pool = await GpuPool.create({ workers: 1, executionProvider: 'cpu', warmupFrames: 0, depthFps });
    let result;
    try {
      result = await pool.run({ chunk: Buffer.from(chunk), mode: 'sbs', outputHeight: 90 });
    } finally {
      await pool.close();
    }
    const { playlist, cleanup } = await writeCmafPlaylist(result.init, [result]);
    const frames = await decodeGray(playlist, 320, 90).finally(cleanup);
    return frames.map((f) => meanDisparity(f, 320, 90));
  };
  const every = await disparities(0);
  const third = await disparities(10);
  t.equal(third.length, 30);
  const after = [16, 17].map((i) => Math.abs(third[i]! - every[i]!));
  t.comment(
    `frames 16, 17 (after the cut, before the next estimate): ${after.map((d) => d.toFixed(3)).join(', ')} px from depth on every frame`,
  );
  t.ok(
    after.every((d) => d < 0.15),
    'they follow the new scene',
  );
});
