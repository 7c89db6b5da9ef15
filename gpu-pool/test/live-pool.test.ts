/**
 * The live converters' host, with real threads: a stream pushed faster than real time is converted or
 * skipped frame by frame (never queued without bound), every unit out decodes; the cap on live paths
 * holds; a converter that cannot start says why; closing ends the thread.
 */
import t from 'tap';
import { LiveKind } from '../../protocol/live.ts';
import { until } from '../../testkit/server.ts';
import { liveStream } from '../../testkit/live-stream.ts';
import { type EncodedUnit, LiveDecoder } from '../live-codec.ts';
import { LivePool } from '../live-pool.ts';

const stream = { mode: 'sbs' as const, strength: 0.03, convergence: 0, outputHeight: 180 };

t.test('a burst of frames: each converted or skipped, the units decodable, the thread closed after', async (t) => {
  const { frames } = await liveStream({ width: 320, height: 180, seconds: 2 });
  const video = frames.filter((f) => f.kind === LiveKind.Video);
  const pool = new LivePool({ max: 1, modelPath: null, executionProvider: 'cpu', modelInputHeight: 126 });
  t.teardown(() => pool.close());
  const units: EncodedUnit[] = [];
  const errors: string[] = [];
  const channel = pool.open(stream, { unit: (u) => units.push(u), error: (e) => errors.push(e) })!;
  t.ok(channel, 'opened');
  t.equal(pool.open(stream, { unit: () => {}, error: () => {} }), null, 'a second live path is refused at max 1');
  for (const frame of video) channel.push(frame);
  await until(
    () => channel.stats.converted + channel.stats.skipped + channel.stats.dropped === video.length,
    'every frame accounted for',
    60_000,
  );
  t.same(errors, []);
  t.equal(channel.stats.received, video.length);
  t.ok(
    channel.stats.converted >= 1,
    `converted ${channel.stats.converted}, skipped ${channel.stats.skipped}, dropped ${channel.stats.dropped}`,
  );
  t.equal(units.length, channel.stats.converted, 'a unit per converted frame');
  t.ok(units[0]?.key, 'the first unit out is a keyframe');
  const decoder = new LiveDecoder();
  t.teardown(() => decoder.close());
  let decoded = 0;
  for (const unit of units) decoder.decode(unit.data, unit.time, () => decoded++);
  t.equal(decoded, units.length, 'every unit decodes');
  await channel.close();
  t.equal(pool.size, 0, 'closed: the slot is free');
  t.ok(pool.open(stream, { unit: () => {}, error: () => {} }), 'and can be taken again');
});

t.test('a converter that cannot start says why', async (t) => {
  const pool = new LivePool({ max: 1, modelPath: '/nonexistent/model.onnx', executionProvider: 'cpu', modelInputHeight: 126 });
  t.teardown(() => pool.close());
  const errors: string[] = [];
  pool.open(stream, { unit: () => {}, error: (e) => errors.push(e) });
  await until(() => errors.length > 0, 'the error', 30_000);
  t.match(errors[0], /the live converter could not start: .*nonexistent/);
  await until(() => pool.size === 0, 'the slot to be freed', 10_000);
});

t.test('closed with frames queued: the thread lets them go and exits by itself (never terminated inside libav)', async (t) => {
  const { frames } = await liveStream({ width: 320, height: 180, seconds: 3 });
  const video = frames.filter((f) => f.kind === LiveKind.Video);
  const pool = new LivePool({ max: 2, modelPath: null, executionProvider: 'cpu', modelInputHeight: 126 });
  t.teardown(() => pool.close());
  const errors: string[] = [];
  const channel = pool.open(stream, { unit: () => {}, error: (e) => errors.push(e) })!;
  // Once the thread runs, a burst it cannot keep up with, and the close right behind it.
  for (const frame of video.slice(0, 1)) channel.push(frame);
  await until(() => channel.stats.converted > 0, 'the first frame converted', 60_000);
  for (const frame of video.slice(1)) channel.push(frame);
  await channel.close();
  t.equal(channel.exitCode, 0, 'the thread closed itself');
  t.ok(
    channel.stats.converted + channel.stats.skipped < video.length,
    `the queued frames were let go (${channel.stats.converted} converted, ${channel.stats.skipped} skipped of ${video.length})`,
  );
  t.same(errors, []);
  // A thread started ahead and never given a stream (its network possibly still loading) closes itself too.
  pool.prepare();
  const spare = pool.open(stream, { unit: () => {}, error: (e) => errors.push(e) })!;
  await spare.close();
  t.equal(spare.exitCode, 0, 'a thread closed while it starts closes itself once started');
});
