/**
 * The live path degrades, never breaks (issue 22, scope 5), through a real server and real sockets:
 * - ten viewers at once each get the converted stream from a keyframe, every unit decodable, and the
 *   session's status counts them; a viewer joining mid-stream starts at a keyframe made for it (the
 *   source's keyframes are 2 s apart), not at the next scheduled one;
 * - the capture client's live socket lost (a network fault between it and the server) while its chunks
 *   go on: viewers hear `publisher_gone` at once, every chunk still goes up and is converted, and when
 *   the network comes back the capture client publishes again and the viewers get frames again.
 */
import t, { type Test } from 'tap';
import { LiveDecoder } from '../gpu-pool/live-codec.ts';
import type { LiveFrame } from '../protocol/live.ts';
import type { SessionStatus } from '../protocol/messages.ts';
import { startCapture } from '../testkit/capture.ts';
import { FakePool } from '../testkit/fake-pool.ts';
import { createSession } from '../testkit/http.ts';
import { type LiveSocket, liveSocket, liveStream, publishLive } from '../testkit/live-stream.ts';
import { startRoundRobinProxy } from '../testkit/proxy.ts';
import { startTestServer, until } from '../testkit/server.ts';

const status = async (base: string, id: string) => (await (await fetch(`${base}/stream_sessions/${id}`)).json()) as SessionStatus;

/** How many of `frames` decode (from the first, which must be a keyframe). */
function decodable(t: Test, frames: LiveFrame[]): number {
  const decoder = new LiveDecoder();
  t.teardown(() => decoder.close());
  let pictures = 0;
  for (const f of frames) decoder.decode(f.data, f.time, () => pictures++);
  return pictures;
}

t.test('ten viewers, and one joining mid-stream: each from a keyframe, every unit decodable, all counted', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const session = await createSession(server.url);
  const url = `${server.url.replace('http', 'ws')}/ws/live/${session.session_id}`;
  const viewers: LiveSocket[] = [];
  for (let i = 0; i < 10; i++) viewers.push(await liveSocket(url));
  t.teardown(() => {
    for (const v of viewers) v.ws.close();
  });
  const publisher = await liveSocket(url, session.control_token);
  t.teardown(() => publisher.ws.close());
  // Keyframes 2 s apart in the source: a viewer that joins waits for one made on its request, or 2 s.
  const stream = await liveStream({ width: 320, height: 180, seconds: 2, keyEvery: 2, audio: true });
  let late: LiveSocket | undefined;
  const enough = () => viewers.every((v) => v.video().length >= 20) && (late?.video().length ?? 0) >= 10;
  const publishing = publishLive(publisher, stream, enough, 20);
  await until(() => viewers.every((v) => v.video().length >= 20), 'converted frames at all ten viewers', 40_000);
  const { live } = await until(async () => {
    const s = await status(server.url, session.session_id);
    return s.live.viewers === 10 && s;
  }, 'ten viewers in the status');
  t.same(live, { publishing: true, viewers: 10 }, "the session's status counts them");

  const joinedAfter = viewers[0]!.video().at(-1)!.time;
  late = await liveSocket(url);
  viewers.push(late);
  await until(() => (late?.video().length ?? 0) >= 10, 'frames at the viewer that joined mid-stream', 20_000);
  await publishing;

  for (const [i, v] of viewers.entries()) {
    const frames = v.video();
    t.ok(frames[0]!.key, `viewer ${i + 1} starts at a keyframe`);
    t.equal(decodable(t, frames), frames.length, `viewer ${i + 1}: all ${frames.length} units decode`);
    t.ok(
      v.texts.some((m) => m.type === 'live_config'),
      `viewer ${i + 1} was told the stream's configuration`,
    );
  }
  // The first viewer saw every converted unit: the late viewer's first keyframe is among them, made
  // off the 2-s schedule (sooner after the keyframe before it) — the converter made it on request.
  const first = late.video()[0]!;
  const keys = viewers[0]!.video().filter((f) => f.key && f.time <= first.time);
  t.equal(keys.at(-1)?.time, first.time, 'the late viewer starts at a keyframe every viewer got');
  const since = (first.time - keys.at(-2)!.time) / 1e6;
  t.ok(since < 1.9, `a keyframe made for the late viewer: ${since.toFixed(2)} s after the one before (the schedule: 2 s)`);
  t.ok(first.time > joinedAfter, 'from after it joined');
});

t.test('the live socket lost, the chunks going on: viewers fall back, every chunk converted, the live path back', async (t) => {
  // The real pool: the chunks are converted as always.
  const server = await startTestServer(t);
  const proxy = await startRoundRobinProxy(t, [Number(new URL(server.url).port)]);
  const capture = startCapture([
    '--server',
    proxy.url,
    '--size',
    '320x180',
    '--duration',
    '60',
    '--chunk-seconds',
    '0.5',
    '--json',
    '--quiet',
  ]);
  t.teardown(() => capture.stop());
  const id = String((await capture.event('session')).session_id);
  const viewer = await liveSocket(`${server.url.replace('http', 'ws')}/ws/live/${id}`);
  t.teardown(() => viewer.ws.close());
  await until(() => viewer.video().length >= 15, 'converted frames at the viewer', 40_000);

  const uploaded = () => capture.events.filter((e) => e.event === 'uploaded').length;
  const ends = () => viewer.texts.filter((m) => m.type === 'live_end');
  const endsBefore = ends().length; // one if it joined before the capture published (`not_publishing`)
  t.equal(proxy.refuseUpgrades('/ws/live/'), 1, "the network cuts the capture client's live socket");
  await until(() => ends().length === endsBefore + 1, 'live_end at the viewer', 10_000);
  t.match(ends().at(-1), { reason: 'publisher_gone' }, 'the viewer hears at once that the publisher is gone');
  await until(async () => !(await status(server.url, id)).live.publishing, 'not publishing in the status');
  const before = { uploaded: uploaded(), ready: (await status(server.url, id)).ready };
  await until(() => uploaded() >= before.uploaded + 4, 'chunks still going up without the live socket', 20_000);
  await until(async () => (await status(server.url, id)).ready >= before.ready + 4, 'and converted', 30_000);

  const framesBefore = viewer.video().length;
  const configsBefore = viewer.texts.filter((m) => m.type === 'live_config').length;
  proxy.refuseUpgrades(null);
  await until(() => viewer.video().length >= framesBefore + 15, 'frames again once the network is back', 40_000);
  t.equal(viewer.texts.filter((m) => m.type === 'live_config').length, configsBefore + 1, 'the live stream configured again');
  t.ok((await status(server.url, id)).live.publishing, 'publishing again');
  const resumed = viewer.video().slice(framesBefore);
  t.ok(resumed[0]!.key, 'from a keyframe');
  t.equal(decodable(t, resumed), resumed.length, 'every unit after the break decodes');

  capture.stop();
  t.equal(await capture.exited, 0, `the capture ended cleanly: ${capture.stderr().slice(-300)}`);
  const summary = capture.events.find((e) => e.event === 'summary') as { live?: { sent: number; dropped: number; refused: string | null } };
  t.ok(
    summary.live && summary.live.dropped > 0 && summary.live.refused === null,
    `its summary counts what the break dropped: ${JSON.stringify(summary.live)}`,
  );
  const lost = capture.events.filter((e) => e.event === 'upload_failed' || e.event === 'chunk_failed');
  t.same(lost, [], 'no chunk lost');
  const ended = capture.events.find((e) => e.event === 'ended') as { ready: number; failed: number } | undefined;
  t.ok(ended && ended.failed === 0 && ended.ready === uploaded(), `every chunk converted: ${JSON.stringify(ended)}`);
});
