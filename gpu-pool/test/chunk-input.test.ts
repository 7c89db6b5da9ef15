/**
 * Chunks come from clients: the reader forces the MP4 demuxer and decodes only the codecs capture
 * clients produce, at sizes up to 8K. Each refusal names what was refused (it becomes the chunk's
 * failure, shown to the client).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { ChunkReader } from '../chunk-reader.ts';
import { ChunkInputError } from '../types.ts';
import { ffmpeg, makeChunks } from '../../testkit/media.ts';

const exec = promisify(execFile);

/** One short file made by the ffmpeg executable with `args` between the sources and the output. */
async function made(t: Test, name: string, args: string[]): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-input-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  await exec(ffmpeg, ['-v', 'error', ...args, file]);
  return readFile(file);
}

t.test('an MP4 of H.264 and AAC, as every capture client sends, opens', async (t) => {
  const [chunk] = await makeChunks({ video: 'testsrc2=size=160x90:rate=30', audio: true, seconds: 0.5, chunkSeconds: 1 });
  const reader = ChunkReader.open(chunk!);
  t.teardown(() => reader.close());
  t.match(reader.facts, { width: 160, height: 90, hasAudio: true });
});

t.test('another container is refused even when libav could read it', async (t) => {
  const mkv = await made(t, 'x.mkv', [
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x90:rate=30',
    '-t',
    '0.3',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
  ]);
  t.throws(() => ChunkReader.open(mkv), ChunkInputError, 'Matroska is not an MP4');
  t.throws(
    () => ChunkReader.open(mkv),
    { message: 'not a decodable video: the MP4 could not be read (no moov box, or not an MP4)' },
    "named in our words, not libav's",
  );
  const ts = await made(t, 'x.ts', [
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x90:rate=30',
    '-t',
    '0.3',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
  ]);
  t.throws(() => ChunkReader.open(ts), ChunkInputError, 'MPEG-TS is not an MP4');
});

t.test('a codec no capture client produces is refused, naming it', async (t) => {
  const mjpeg = await made(t, 'x.mp4', ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30', '-t', '0.3', '-c:v', 'mjpeg']);
  t.throws(() => ChunkReader.open(mjpeg), { name: 'ChunkInputError', message: /video codec mjpeg is not accepted/ });
  const pcm = await made(t, 'y.mov', [
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x90:rate=30',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    '0.3',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'pcm_s16le',
    '-f',
    'mov',
  ]);
  t.throws(() => ChunkReader.open(pcm), { name: 'ChunkInputError', message: /audio codec pcm_s16le is not accepted/ });
});

t.test('a picture larger than 8K is refused before anything is decoded', async (t) => {
  const wide = await made(t, 'w.mp4', [
    '-f',
    'lavfi',
    '-i',
    'color=c=gray:size=8208x16:rate=5',
    '-frames:v',
    '1',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
  ]);
  t.throws(() => ChunkReader.open(wide), { name: 'ChunkInputError', message: /8208x16 picture is larger than accepted/ });
});
