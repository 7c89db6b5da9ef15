/** The real pool: worker threads, real ffmpeg, the built-in model. */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { GpuPool, locateFfmpeg } from '../index.ts';

const exec = promisify(execFile);

t.test('two consecutive chunks become segments that play as one continuous stream', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-pool-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const ffmpeg = await locateFfmpeg(null);
  t.ok(['FFMPEG_PATH', 'PATH', 'npm-package'].includes(ffmpeg.source));
  await exec(ffmpeg.path, [
    '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440',
    '-t', '4', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
    '-force_key_frames', 'expr:gte(t,n_forced*2)', '-sc_threshold', '0',
    '-f', 'segment', '-segment_time', '2', '-segment_format', 'mp4', '-reset_timestamps', '0', path.join(dir, 'chunk_%05d.mp4'),
  ]);
  const names = (await readdir(dir)).filter((n) => n.startsWith('chunk_')).sort();
  t.equal(names.length, 2);
  const pool = await GpuPool.create({ workers: 1, ffmpegPath: ffmpeg.path, executionProvider: 'cpu' });
  t.teardown(() => pool.close());

  const results = [];
  let depth = null;
  for (const [i, name] of names.entries()) {
    const r = await pool.run({ chunk: await readFile(path.join(dir, name)), mode: 'sbs', outputHeight: 360, depth });
    depth = r.depth;
    await writeFile(path.join(dir, `seg_${i}.ts`), r.segment);
    results.push(r);
  }
  t.same(results.map((r) => [r.width, r.height, r.frames, r.hasAudio]), [[320, 90, 60, true], [320, 90, 60, true]]);
  t.ok(Math.abs(results[1]!.start - results[0]!.start - 2) < 0.05, 'the second segment starts 2 s after the first');
  await writeFile(path.join(dir, 'list.m3u8'), [
    '#EXTM3U', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXTINF:2.0,', 'seg_0.ts', '#EXTINF:2.0,', 'seg_1.ts', '#EXT-X-ENDLIST', '',
  ].join('\n'));
  const { stderr } = await exec(ffmpeg.path, ['-hide_banner', '-v', 'warning', '-i', path.join(dir, 'list.m3u8'), '-f', 'null', '-']);
  t.equal(stderr.trim(), '', 'no warnings at the segment join (timestamps continuous)');
});

t.test('garbage and truncated chunks reject with a clear error; the pool keeps serving', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-pool-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const ffmpeg = await locateFfmpeg(null);
  await exec(ffmpeg.path, [
    '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30', '-t', '1',
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', path.join(dir, 'ok.mp4'),
  ]);
  const good = await readFile(path.join(dir, 'ok.mp4'));
  const pool = await GpuPool.create({ workers: 1, ffmpegPath: ffmpeg.path, executionProvider: 'cpu' });
  await t.rejects(pool.run({ chunk: Buffer.from('definitely not a video'), mode: 'sbs', outputHeight: 90, depth: null }), /not a decodable video/);
  await t.rejects(pool.run({ chunk: good.subarray(0, good.length >> 1), mode: 'sbs', outputHeight: 90, depth: null }), /not a decodable video|decoding/);
  const r = await pool.run({ chunk: Buffer.from(good), mode: 'anaglyph', outputHeight: 90, depth: null });
  t.equal(r.width, 160, 'anaglyph keeps the width');
  t.notOk(r.hasAudio, 'a chunk without audio gives a segment without audio');
  await Promise.all([pool.close(), pool.close()]);
  await t.rejects(pool.run({ chunk: Buffer.from(good), mode: 'sbs', outputHeight: 90, depth: null }), /closed/);
});

t.test('GpuPool.create validates its options', async (t) => {
  await t.rejects(GpuPool.create({ workers: 0, ffmpegPath: 'ffmpeg' }), /options.workers must be a positive integer/);
  await t.rejects(GpuPool.create({ workers: 1, ffmpegPath: '' }), /options.ffmpegPath/);
  await t.rejects(locateFfmpeg('/nonexistent/ffmpeg'), /FFMPEG_PATH=\/nonexistent\/ffmpeg does not exist/);
});
