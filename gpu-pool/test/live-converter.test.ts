/**
 * The live converter, frame by frame, in-process with the built-in network: every frame of a live
 * stream comes out at once as one side-by-side access unit (twice the width) on the same capture time,
 * decodable from its first keyframe; the two eyes differ (depth made it stereo); a requested keyframe
 * comes on the next frame; skipped frames are decoded but not converted, and the stream stays decodable.
 */
import t from 'tap';
import { LiveKind } from '../../protocol/live.ts';
import { liveStream } from '../../testkit/live-stream.ts';
import { FrameScaler } from '../frame-scaler.ts';
import { LiveDecoder } from '../live-codec.ts';
import { LiveConverter } from '../live-converter.ts';
import { loadDepthModel } from '../model.ts';

t.test('every frame in, one side-by-side frame out at once, on its capture time', async (t) => {
  const { frames } = await liveStream({ width: 320, height: 180, seconds: 1 });
  const video = frames.filter((f) => f.kind === LiveKind.Video);
  const model = await loadDepthModel({ modelPath: null, executionProvider: 'cpu', inputHeight: 126 });
  const scaler = new FrameScaler();
  const converter = new LiveConverter({ model, scaler, mode: 'sbs', strength: 0.03, convergence: 0, outputHeight: 180 });
  t.teardown(async () => {
    converter.close();
    scaler.close();
    await model.close();
  });
  const out = [];
  for (const [i, frame] of video.entries()) {
    if (i === 20) converter.requestKeyframe();
    const outcome = await converter.push(frame.data, frame.time);
    t.equal(outcome.units.length, 1, `frame ${i}: one unit out, no delay`);
    t.equal(outcome.units[0]?.time, frame.time, `frame ${i}: on its capture time`);
    out.push(...outcome.units);
  }
  t.same(converter.outputSize, { width: 640, height: 180 }, 'side by side: twice the width');
  t.ok(out[0]!.key, 'the first unit is a keyframe');
  t.ok(out[20]!.key && !out[19]!.key && !out[21]!.key, 'a requested keyframe on the next frame');
  // Decoded back: every unit, at 640×180, and the eyes differ where depth moved the picture.
  const decoder = new LiveDecoder();
  t.teardown(() => decoder.close());
  let decoded = 0;
  let differs = 0;
  const widths = new Set<number>();
  for (const unit of out) {
    decoder.decode(unit.data, unit.time, (frame) => {
      decoded++;
      widths.add(frame.width);
      const luma = frame.data?.[0];
      const stride = frame.linesize[0]!;
      if (!luma) return;
      let diff = 0;
      for (let y = 40; y < 140; y++) for (let x = 40; x < 280; x++) diff += Math.abs(luma[y * stride + x]! - luma[y * stride + 320 + x]!);
      if (diff / (100 * 240) > 1) differs++;
    });
  }
  t.equal(decoded, video.length, 'every unit decodes');
  t.same([...widths], [640], 'at 640 wide');
  t.ok(differs > video.length / 2, `the eyes differ (${differs} of ${decoded} frames)`);
});

t.test('behind: hurried frames are converted on the newest estimate, skipped ones decoded only; all stays decodable', async (t) => {
  const { frames } = await liveStream({ width: 160, height: 90, seconds: 1 });
  const video = frames.filter((f) => f.kind === LiveKind.Video);
  const model = await loadDepthModel({ modelPath: null, executionProvider: 'cpu', inputHeight: 126 });
  const scaler = new FrameScaler();
  const converter = new LiveConverter({ model, scaler, mode: 'anaglyph', strength: 0.03, convergence: 0, outputHeight: 90 });
  t.teardown(async () => {
    converter.close();
    scaler.close();
    await model.close();
  });
  let converted = 0;
  let skipped = 0;
  let estimates = 0;
  const units = [];
  const paces = ['full', 'hurry', 'skip'] as const;
  for (const [i, frame] of video.entries()) {
    const outcome = await converter.push(frame.data, frame.time, paces[i % 3]);
    converted += outcome.converted;
    skipped += outcome.skipped;
    estimates += outcome.estimates;
    units.push(...outcome.units);
  }
  t.equal(converted, 20, 'full and hurried frames converted');
  t.equal(estimates, 10, 'the network ran on the full ones only');
  t.equal(skipped, 10, 'the others decoded and skipped');
  t.same(converter.outputSize, { width: 160, height: 90 }, 'anaglyph: the source width');
  const decoder = new LiveDecoder();
  t.teardown(() => decoder.close());
  let decoded = 0;
  for (const unit of units) decoder.decode(unit.data, unit.time, () => decoded++);
  t.equal(decoded, 20, 'the converted frames decode (P-frames from the frames before them)');
});
