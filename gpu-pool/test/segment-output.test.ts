/** Where a worker's segments leave libav: a file per segment, lent to one writer at a time. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { CmafWriter } from '../cmaf-writer.ts';
import { SegmentOutput } from '../segment-output.ts';
import { yuv420pSize } from '../stereo.ts';
import { decodeWarnings, writeCmafPlaylist } from '../../testkit/media.ts';

const WIDTH = 96;
const HEIGHT = 64;

/** A writer with `frames` moving frames written from `first` on (30 fps). */
function writing(output: SegmentOutput, first: number, frames: number): CmafWriter {
  const writer = new CmafWriter({ width: WIDTH, height: HEIGHT, timeBase: { num: 1, den: 30 }, output });
  const picture = new Uint8Array(yuv420pSize(WIDTH, HEIGHT));
  for (let n = first; n < first + frames; n++) {
    for (let p = 0; p < picture.length; p++) picture[p] = (p + n * 5) & 255;
    writer.writeFrame(picture, BigInt(n));
  }
  return writer;
}

function folder(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stereospot-segment-output-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('one output serves segment after segment: the same frames give the same bytes, and no file stays behind', async (t) => {
  const dir = folder(t);
  const output = new SegmentOutput(dir);
  t.teardown(() => output.close());
  const first = writing(output, 0, 15).finish();
  const second = writing(output, 15, 15).finish();
  const again = writing(output, 0, 15).finish();
  t.ok(Buffer.compare(first.init, second.init) === 0, 'one init for every segment');
  t.ok(Buffer.compare(first.media, again.media) === 0, 'the first segment again, byte for byte, after two others');
  t.same(readdirSync(dir), [], 'every segment file is gone');
  const { playlist, cleanup } = await writeCmafPlaylist(first.init, [
    { ...first, duration: 0.5 },
    { ...second, duration: 0.5 },
  ]);
  t.teardown(cleanup);
  t.equal(await decodeWarnings(playlist), '', 'ffmpeg decodes the two segments in a row without a warning');
});

t.test('a segment that failed half-way leaves nothing behind for the next', async (t) => {
  const dir = folder(t);
  const output = new SegmentOutput(dir);
  t.teardown(() => output.close());
  const clean = writing(output, 0, 10).finish();
  // Header and several frames written, then given up (as a conversion that failed on its input).
  writing(output, 0, 10).close();
  t.same(readdirSync(dir), [], 'its file is gone');
  const after = writing(output, 0, 10).finish();
  t.ok(
    Buffer.compare(after.init, clean.init) === 0 && Buffer.compare(after.media, clean.media) === 0,
    'the next segment is exactly what a fresh one is',
  );
});

t.test('without a folder to write in, segments still come out, through memory', async (t) => {
  const dir = folder(t);
  const reference = new SegmentOutput(dir);
  t.teardown(() => reference.close());
  const gone = new SegmentOutput(path.join(dir, 'no-such-folder'));
  t.teardown(() => gone.close());
  const viaFile = writing(reference, 0, 10).finish();
  const viaMemory = writing(gone, 0, 10).finish();
  t.ok(
    Buffer.compare(viaFile.init, viaMemory.init) === 0 && Buffer.compare(viaFile.media, viaMemory.media) === 0,
    'the same bytes either way',
  );
});

t.test('one segment at a time: a second writer is refused while the first has the output', async (t) => {
  const output = new SegmentOutput(folder(t));
  t.teardown(() => output.close());
  const writer = writing(output, 0, 3);
  t.throws(() => writing(output, 0, 3), /in use by another segment/);
  t.ok(writer.finish().media.length > 0, 'the first still finishes');
  t.throws(() => writing(output, 0, 0).finish(), /no picture was written/, 'a segment without a picture is an error, not an empty file');
  t.ok(writing(output, 0, 3).finish().media.length > 0, 'and the output is free again after it');
  output.close();
  t.throws(() => output.lend(), /closed/);
});
