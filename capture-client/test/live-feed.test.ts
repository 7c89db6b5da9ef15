/**
 * The live stream beside the chunks, from one encode: a test clip captured with the live sink gives the
 * same chunks (with their capture origin) and, frame by frame, a live_config and Annex B video and AAC
 * audio on the chunks' clock — each chunk's first frame is a keyframe at the chunk's own start time. The
 * tee muxer's escaping holds for a temp folder with a colon, a quote and a bar in its name.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { CAPTURE_ORIGIN_TAG } from '../../protocol/keys.ts';
import { type LiveConfigMessage, type LiveFrame, LiveKind } from '../../protocol/live.ts';
import { Chunker } from '../chunker.ts';
import { defaultFfmpeg } from '../ffmpeg-path.ts';
import { annexB, LiveFeed } from '../live-feed.ts';
import { type CaptureOptions, parseOptions } from '../options.ts';
import { inputArgs } from '../sources.ts';
import { planStreams } from '../timeline.ts';

const exec = promisify(execFile);
const ffmpeg = defaultFfmpeg(process.env);

async function capture(t: Test, tmp?: string) {
  const options = parseOptions(['--size', '160x90', '--duration', '2', '--no-realtime'], {}) as CaptureOptions;
  const configs: LiveConfigMessage[] = [];
  const frames: LiveFrame[] = [];
  const errors: Error[] = [];
  let chunker: Chunker;
  const feed = new LiveFeed(() => chunker.originMicros, {
    config: (c) => configs.push(c),
    frame: (f) => frames.push(f),
    error: (e) => errors.push(e),
  });
  const before = process.env.TMPDIR;
  if (tmp) process.env.TMPDIR = tmp;
  try {
    chunker = new Chunker({
      ffmpeg,
      inputArgs: inputArgs(options),
      plan: await planStreams(options),
      chunkSeconds: 0.5,
      pollMs: 20,
      live: (bytes) => feed.push(bytes),
    });
  } finally {
    if (tmp) process.env.TMPDIR = before;
  }
  t.teardown(() => chunker.close());
  await chunker.start();
  const chunks = [];
  for await (const chunk of chunker.chunks()) chunks.push(chunk);
  return { chunker, chunks, configs, frames, errors };
}

t.test('one encode, two outputs: the chunks as before and the live frames on their clock', async (t) => {
  const { chunker, chunks, configs, frames, errors } = await capture(t);
  t.same(errors, [], 'the live stream parsed');
  t.equal(chunks.length, 4, 'four 0.5-s chunks');
  const probe = await exec('ffprobe', ['-v', 'error', '-show_entries', 'format_tags', '-of', 'json', chunks[0]!.path]);
  t.match(probe.stdout, new RegExp(`${CAPTURE_ORIGIN_TAG}"?\\s*:\\s*"${chunker.originMicros}"`), 'chunks still carry the capture origin');
  t.equal(configs.length, 1, 'one live_config');
  t.match(configs[0], {
    type: 'live_config',
    video: { codec: /^avc1\.[0-9A-F]{6}$/, width: 160, height: 90 },
    audio: { codec: 'mp4a.40.2', description: /^[A-Za-z0-9+/]+=*$/ },
  });
  const video = frames.filter((f) => f.kind === LiveKind.Video);
  const audio = frames.filter((f) => f.kind === LiveKind.Audio);
  t.equal(video.length, 60, '60 video frames, every one');
  t.ok(audio.length >= 90, `audio frames too (${audio.length})`);
  t.ok(
    video.every((f) => f.data[0] === 0 && f.data[1] === 0 && f.data[2] === 0 && f.data[3] === 1),
    'Annex B start codes',
  );
  t.ok(
    video.every((f, i) => i === 0 || f.time > video[i - 1]!.time),
    'in presentation order (no B-frames)',
  );
  // Each chunk's start (its first frame's time, from ffprobe) is a keyframe of the live stream.
  const keys = video.filter((f) => f.key).map((f) => f.time - chunker.originMicros);
  const starts: number[] = [];
  for (const chunk of chunks) {
    const { stdout } = await exec('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'packet=pts_time',
      '-of',
      'csv=p=0',
      chunk.path,
    ]);
    starts.push(Math.round(Number(stdout.split('\n')[0]) * 1e6));
  }
  t.equal(keys.length, 4, 'a keyframe per chunk');
  // The chunk's time reads in ms (its edit list's movie timescale); the live stream's is the frame's own.
  for (const [i, key] of keys.entries()) {
    t.ok(Math.abs(key - starts[i]!) < 1000, `keyframe ${i} at the chunk's start: ${key} vs ${starts[i]} µs`);
  }
});

t.test("the tee muxer's escaping holds for a folder with a colon, a quote and a bar", async (t) => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "odd:na'me|"));
  t.teardown(() => rm(tmp, { recursive: true, force: true }));
  const { chunks, frames, errors } = await capture(t, tmp);
  t.same(errors, []);
  t.equal(chunks.length, 4);
  t.ok(chunks[0]!.path.startsWith(tmp), 'the chunks are in that folder');
  t.ok(frames.length > 100, 'and the live frames came');
});

t.test('annexB: length prefixes become start codes; an overrun is refused', async (t) => {
  const avcc = new Uint8Array([0, 0, 0, 2, 0x67, 0x42, 0, 0, 0, 1, 0x68]);
  t.same([...annexB(avcc)!.bytes], [0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68]);
  t.same([...annexB(avcc)!.sps!], [0x67, 0x42]);
  t.equal(annexB(new Uint8Array([0, 0, 0, 9, 0x67])), null);
});
