/** The frame scaler (swscale into the caller's buffers) and the chunk reader's way in through a file. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ChunkReader } from '../chunk-reader.ts';
import { FrameScaler, pictureSize } from '../frame-scaler.ts';
import { ChunkInputError } from '../types.ts';
import { ffmpeg, makeChunks } from '../../testkit/media.ts';

function scratch(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stereospot-scratch-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The frame's planes, tightly packed (yuv420p). */
function packed(frame: { data: Buffer[] | null; linesize: number[]; width: number; height: number }): Uint8Array {
  const out = new Uint8Array(pictureSize(frame.width, frame.height, 'yuv420p'));
  let at = 0;
  frame.data!.slice(0, 3).forEach((plane, i) => {
    const w = i === 0 ? frame.width : frame.width >> 1;
    const h = i === 0 ? frame.height : frame.height >> 1;
    for (let y = 0; y < h; y++, at += w) out.set(plane.subarray(y * frame.linesize[i]!, y * frame.linesize[i]! + w), at);
  });
  return out;
}

t.test('scales a decoded picture into the given buffer: a solid colour stays that colour, the same size is an exact copy', async (t) => {
  const [chunk] = await makeChunks({ video: 'color=c=0x3060c0:size=160x90:rate=30', seconds: 0.2, chunkSeconds: 1 });
  const reader = ChunkReader.open(chunk!);
  t.teardown(() => reader.close());
  const scaler = new FrameScaler();
  t.teardown(() => scaler.close());
  const rgb = new Uint8Array(pictureSize(80, 44, 'rgb24'));
  const yuv = new Uint8Array(pictureSize(160, 90, 'yuv420p'));
  let frames = 0;
  for (const frame of reader.frames()) {
    t.equal(scaler.scale(frame, 80, 44, 'rgb24', rgb), rgb, "the caller's buffer comes back");
    scaler.scale(frame, 160, 90, 'yuv420p', yuv);
    if (frames++ > 0) continue;
    const off = [0, 1, 2].map((c) =>
      Math.max(...Array.from({ length: 80 * 44 }, (_, i) => Math.abs(rgb[i * 3 + c]! - [0x30, 0x60, 0xc0][c]!))),
    );
    t.ok(
      off.every((d) => d <= 6),
      `every pixel is #3060c0 within 6 levels (off by ${off.join('/')}; h264 and 4:2:0 round)`,
    );
    t.same(yuv, packed(frame), 'yuv420p at the same size is the decoded picture, byte for byte');
  }
  t.equal(frames, 6);
});

t.test('converts rgb24 to yuv420p (the anaglyph path) and names a wrong size', async (t) => {
  const scaler = new FrameScaler();
  t.teardown(() => scaler.close());
  const rgb = new Uint8Array(pictureSize(64, 32, 'rgb24'));
  for (let i = 0; i < rgb.length; i += 3) rgb.set([255, 255, 255], i);
  const yuv = scaler.rgbToYuv(rgb, 64, 32, new Uint8Array(pictureSize(64, 32, 'yuv420p')));
  t.ok(
    yuv.subarray(0, 64 * 32).every((v) => v === 235),
    'white is luma 235 (limited range)',
  );
  t.ok(
    yuv.subarray(64 * 32).every((v) => v === 128),
    'and neutral chroma',
  );
  t.throws(() => scaler.rgbToYuv(rgb, 64, 32, new Uint8Array(10)), {
    name: 'RangeError',
    message: /yuv420p 64x32 is 3072 bytes, the output has 10/,
  });
  t.throws(() => scaler.rgbToYuv(rgb.subarray(3), 64, 32, yuv), {
    name: 'RangeError',
    message: /rgb24 64x32 is 6144 bytes, the input has 6141/,
  });
});

t.test('keeps a bounded set of contexts: many sizes in turn, then the first again, all still right', async (t) => {
  const scaler = new FrameScaler();
  const gray = new Uint8Array(pictureSize(32, 32, 'rgb24')).fill(128);
  for (let size = 2; size <= 44; size += 2) {
    const out = scaler.rgbToYuv(
      new Uint8Array(pictureSize(size, size, 'rgb24')).fill(128),
      size,
      size,
      new Uint8Array(pictureSize(size, size, 'yuv420p')),
    );
    t.ok(
      out.every((v) => v === 126 || v === 128),
      `${size}x${size}`,
    );
  }
  const again = scaler.rgbToYuv(gray, 32, 32, new Uint8Array(pictureSize(32, 32, 'yuv420p')));
  t.ok(
    again.subarray(0, 32 * 32).every((v) => v === 126),
    'an evicted size is made again',
  );
  scaler.close();
  scaler.close();
  t.throws(() => scaler.rgbToYuv(gray, 32, 32, again), /closed/);
});

t.test('through a scratch folder: the same frames as from memory, the file unlinked once open, bad bytes named', async (t) => {
  const dir = scratch(t);
  const [chunk] = await makeChunks({ video: 'testsrc2=size=160x90:rate=30', audio: true, seconds: 0.5, chunkSeconds: 1 });
  const fromMemory = ChunkReader.open(chunk!);
  const fromFile = ChunkReader.open(chunk!, { scratchDir: dir });
  t.teardown(() => {
    fromMemory.close();
    fromFile.close();
  });
  t.same(readdirSync(dir), [], 'nothing left in the folder while the reader is open');
  t.same(fromFile.facts, fromMemory.facts);
  const pictures = (reader: ChunkReader) => Array.from(reader.frames(), (frame) => Buffer.from(packed(frame)).toString('base64'));
  const expected = pictures(fromMemory);
  t.equal(expected.length, 15);
  t.same(pictures(fromFile), expected, 'every decoded picture identical');
  t.equal(fromFile.audioPackets.length, fromMemory.audioPackets.length, 'and the same sound packets');
  t.throws(() => ChunkReader.open(Buffer.from('not a video at all'), { scratchDir: dir }), ChunkInputError);
  t.same(readdirSync(dir), [], 'a refused chunk leaves no file either');
  const noFolder = ChunkReader.open(chunk!, { scratchDir: path.join(dir, 'gone') });
  t.teardown(() => noFolder.close());
  t.same(pictures(noFolder), expected, 'a folder that cannot be written to: read from memory instead, the same frames');
});

t.test('a glance (the warm-up decode) gives every frame, a full decode less its deblocking; the container counts them first', async (t) => {
  // x264 at its usual presets deblocks (ultrafast, the capture client's, does not: nothing to skip there).
  const file = path.join(scratch(t), 'deblocked.mp4');
  execFileSync(ffmpeg, [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'mandelbrot=size=160x90:rate=30',
    '-t',
    '0.5',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    file,
  ]);
  const bytes = readFileSync(file);
  const full = ChunkReader.open(bytes);
  const glance = ChunkReader.open(bytes, { glance: true });
  t.teardown(() => {
    full.close();
    glance.close();
  });
  t.equal(full.facts.frameCount, 15, 'the frame count is known before decoding');
  t.equal(glance.facts.frameCount, 15);
  const pictures = (reader: ChunkReader) => Array.from(reader.frames(), (frame) => packed(frame));
  const a = pictures(full);
  const b = pictures(glance);
  t.equal(b.length, a.length, 'as many frames');
  const meanDifference = (x: Uint8Array, y: Uint8Array) => x.reduce((sum, v, i) => sum + Math.abs(v - y[i]!), 0) / x.length;
  const differences = a.map((picture, i) => meanDifference(picture, b[i]!));
  t.ok(
    differences.some((d) => d > 0),
    'the deblocking filter was skipped',
  );
  t.ok(
    differences.every((d) => d < 2),
    `and the pictures are near the full decode's (mean |Δ| per frame at most ${Math.max(...differences).toFixed(2)} levels)`,
  );
});
