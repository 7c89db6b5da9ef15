import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import t from 'tap';
import { Chunker } from '../chunker.ts';
import { defaultFfmpeg } from '../ffmpeg-path.ts';
import { parseOptions, type CaptureOptions } from '../options.ts';
import { inputArgs } from '../sources.ts';
import { planStreams } from '../timeline.ts';

const exec = promisify(execFile);
const ffmpeg = defaultFfmpeg(process.env);

t.test('a 6-second test clip becomes three MP4 chunks of 60 frames, in order, 2 s apart on a wall-clock-anchored timeline', async (t) => {
  const options = parseOptions(['--size', '160x90', '--duration', '6', '--no-realtime'], {}) as CaptureOptions;
  const chunker = new Chunker({ ffmpeg, inputArgs: inputArgs(options), plan: await planStreams(options), chunkSeconds: 2, pollMs: 20 });
  const before = Date.now();
  t.teardown(() => chunker.close());
  await chunker.start();
  const chunks = [];
  for await (const chunk of chunker.chunks()) {
    const head = (await readFile(chunk.path)).subarray(4, 8).toString('latin1');
    t.equal(head, 'ftyp', `chunk ${chunk.index} is an MP4`);
    chunks.push(chunk);
  }
  t.same(
    chunks.map((c) => c.index),
    [0, 1, 2],
  );
  t.ok(chunker.originMicros >= before * 1000 && chunker.originMicros <= Date.now() * 1000, 'the origin is a wall-clock time of this run');
  let first = NaN;
  for (const c of chunks) {
    const { stderr } = await exec(ffmpeg, ['-hide_banner', '-i', c.path]).catch((e: { stderr: string }) => e);
    const start = Number(/start: ([\d.]+)/.exec(stderr)?.[1]);
    if (c.index === 0) {
      first = start;
      // Media time 0 is the origin; the first frame came once ffmpeg was up (well under 5 s here).
      t.ok(start >= 0 && start < 5, `the first frame's media time is its capture time after the origin (${start} s)`);
    }
    t.ok(Math.abs(start - first - c.index * 2) < 0.1, `chunk ${c.index} starts 2 s after the one before (got ${start})`);
    t.match(stderr, /Audio: aac/, 'with audio');
    const { stdout } = await exec(ffmpeg.replace(/ffmpeg$/, 'ffprobe'), [
      '-v',
      'error',
      '-count_frames',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=nb_read_frames',
      '-of',
      'csv=p=0',
      c.path,
    ]);
    t.equal(Number(stdout.trim()), 60, `chunk ${c.index}: 2 s at 30 fps, no frame repeated to fill the start`);
    t.match(stderr, new RegExp(`stereospot_capture_origin: ${chunker.originMicros}`), 'the origin travels in the chunk');
    t.ok(c.bytes > 0);
  }
});

t.test('stop() finishes the current chunk and ends the stream', async (t) => {
  const options = parseOptions(['--size', '160x90'], {}) as CaptureOptions; // realtime, unlimited
  const chunker = new Chunker({ ffmpeg, inputArgs: inputArgs(options), plan: await planStreams(options), chunkSeconds: 1, pollMs: 20 });
  t.teardown(() => chunker.close());
  await chunker.start();
  const seen: number[] = [];
  for await (const chunk of chunker.chunks()) {
    seen.push(chunk.index);
    if (chunk.index === 0) chunker.stop();
  }
  t.ok(seen.length >= 1 && seen.length <= 3, `a live source stops after stop() (got ${seen.length} chunks)`);
  t.same(
    seen,
    seen.map((_, i) => i),
    'in order',
  );
});

t.test('a missing ffmpeg is a clear error', async (t) => {
  const options = parseOptions(['--no-realtime', '--duration', '1'], {}) as CaptureOptions;
  const chunker = new Chunker({
    ffmpeg: '/nonexistent/ffmpeg',
    inputArgs: inputArgs(options),
    plan: await planStreams(options),
    chunkSeconds: 2,
  });
  t.teardown(() => chunker.close());
  await t.rejects(chunker.start(), /could not start ffmpeg \(\/nonexistent\/ffmpeg\)/);
});

t.test('each chunk is reported once, even when polls come faster than the file checks', async (t) => {
  // Several captures at once load the machine so that polls would overlap if they could
  // (an overlap used to report one file under two indices).
  const once = async () => {
    const options = parseOptions(['--size', '320x180', '--duration', '8', '--no-realtime'], {}) as CaptureOptions;
    const chunker = new Chunker({ ffmpeg, inputArgs: inputArgs(options), plan: await planStreams(options), chunkSeconds: 2, pollMs: 2 });
    t.teardown(() => chunker.close());
    await chunker.start();
    const paths: string[] = [];
    for await (const chunk of chunker.chunks()) paths.push(chunk.path);
    return paths;
  };
  for (const paths of await Promise.all([once(), once(), once(), once()])) {
    t.equal(paths.length, 4, 'four chunks');
    t.equal(new Set(paths).size, 4, 'four different files');
  }
});
