/** The silent track given to segments whose chunk has no sound, checked with the ffmpeg executables. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { CmafWriter } from '../cmaf-writer.ts';
import { SegmentOutput } from '../segment-output.ts';
import { SILENCE_SAMPLE_RATE, SilentAudio } from '../silent-audio.ts';
import { yuv420pSize } from '../stereo.ts';
import { decodeWarnings, ffmpeg, writeCmafPlaylist } from '../../testkit/media.ts';

const exec = promisify(execFile);
const ffprobe = ffmpeg.replace(/ffmpeg(\.exe)?$/, 'ffprobe$1');
const FRAME = 1024 / SILENCE_SAMPLE_RATE;

/** A silent video segment of 30-fps frames over `[from, to)`. */
const output = new SegmentOutput(os.tmpdir());
t.teardown(() => output.close());

function segment(silence: SilentAudio | undefined, from: number, to: number) {
  const writer = new CmafWriter({ width: 64, height: 32, timeBase: { num: 1, den: 30 }, output, silence });
  const picture = new Uint8Array(yuv420pSize(64, 32)).fill(128);
  for (let n = Math.round(from * 30); n < Math.round(to * 30); n++) writer.writeFrame(picture, BigInt(n));
  writer.writeSilence(from, to);
  return { ...writer.finish(), duration: to - from };
}

t.test('silent segments carry an AAC track that tiles the timeline: one init, no gap or overlap, pure silence', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stereospot-silence-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const silence = new SilentAudio(dir);
  t.teardown(() => silence.close());
  t.same(readdirSync(dir), [], 'its file is gone once open');
  const borders = [0, 0.5, 1.0, 1.6];
  const segments = borders.slice(1).map((to, i) => segment(silence, borders[i]!, to));
  t.match(segments[0]!.codecs, /^avc1\.[0-9A-F]{6},mp4a\.40\.2$/, 'codecs name the AAC track');
  t.ok(
    segments.every((s) => Buffer.compare(s.init, segments[0]!.init) === 0),
    'every silent segment shares one init',
  );
  const { playlist, cleanup } = await writeCmafPlaylist(segments[0]!.init, segments);
  t.teardown(cleanup);
  t.equal(await decodeWarnings(playlist), '', 'ffmpeg decodes the playlist without a warning');

  const { stdout } = await exec(ffprobe, [
    '-v',
    'error',
    '-select_streams',
    'a',
    '-show_entries',
    'packet=pts_time,duration_time',
    '-of',
    'csv=p=0',
    playlist,
  ]);
  const packets = stdout
    .trim()
    .split('\n')
    .map((l) => l.split(',').map(Number) as [number, number]);
  t.ok(packets[0]![0] >= 0 && packets[0]![0] < FRAME, `the sound starts within a frame of the picture (${packets[0]![0]} s)`);
  const last = packets.at(-1)!;
  t.ok(last[0] + last[1] >= 1.6 - 1e-6 && last[0] < 1.6, `and ends with it (${(last[0] + last[1]).toFixed(4)} s)`);
  const holes = packets.slice(1).filter(([pts], i) => Math.abs(pts - (packets[i]![0] + packets[i]![1])) > 0.5 / SILENCE_SAMPLE_RATE);
  t.same(holes, [], `${packets.length} packets, each where the last ended, across segment borders`);

  const volume = await exec(ffmpeg, ['-hide_banner', '-i', playlist, '-map', '0:a', '-af', 'volumedetect', '-f', 'null', '-']);
  const max = /max_volume: (-?[\d.]+|-inf) dB/.exec(volume.stderr)?.[1];
  t.ok(max === '-inf' || Number(max) <= -90, `it is silence (max volume ${max} dB)`);
});

t.test('without a writable folder it says which; without silence a segment has no sound; close is safe twice', async (t) => {
  t.throws(() => new SilentAudio('/nonexistent/stereospot'), /silence could not be written to \/nonexistent\/stereospot/);
  const silent = segment(undefined, 0, 0.5);
  t.match(silent.codecs, /^avc1\.[0-9A-F]{6}$/, 'a writer given neither sound nor silence writes video alone');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stereospot-silence-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const silence = new SilentAudio(dir);
  silence.close();
  silence.close();
  t.pass('closed twice');
});
