/**
 * The live path through a real server: a publisher (the session's control token) sends a capture
 * client's live stream frame by frame over /ws/live/{id} in real time; a viewer that joined before gets
 * the converted stream's live_config (twice the width: side by side) and access units that decode from
 * their first keyframe, on the frames' capture times; when the publisher leaves, the viewer hears
 * live_end. The capture CLI publishes its live stream beside its chunks. Refused: a publisher with a wrong token, an unknown session, a frame that is not one.
 */
import t from 'tap';
import { LiveDecoder } from '../gpu-pool/live-codec.ts';
import { LiveKind, parseLiveFrame } from '../protocol/live.ts';
import type { SessionStatus } from '../protocol/messages.ts';
import { FakePool } from '../testkit/fake-pool.ts';
import { startCapture } from '../testkit/capture.ts';
import { createSession } from '../testkit/http.ts';
import { liveSocket, liveStream, publishLive } from '../testkit/live-stream.ts';
import { startTestServer, until } from '../testkit/server.ts';

t.test('publish frame by frame, watch converted frames, fall back when the publisher leaves', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const session = await createSession(server.url);
  const url = `${server.url.replace('http', 'ws')}/ws/live/${session.session_id}`;
  const viewer = await liveSocket(url);
  t.teardown(() => viewer.ws.close());
  const publisher = await liveSocket(url, session.control_token);
  t.teardown(() => publisher.ws.close());
  const stream = await liveStream({ width: 320, height: 180, seconds: 2, audio: true });
  const video = () => viewer.video();
  const sent = await publishLive(publisher, stream, () => video().length >= 10);
  await until(() => video().length >= 10, 'converted frames at the viewer', 30_000);
  const configured = viewer.texts.find((m) => m.type === 'live_config');
  t.match(configured, { type: 'live_config', video: { codec: /^avc1\./, width: 640, height: 180 }, audio: { codec: 'mp4a.40.2' } });
  const out = video();
  t.ok(out[0]!.key, 'the viewer starts at a keyframe');
  t.same(
    out.filter((f) => !sent.has(f.time)).map((f) => f.time),
    [],
    "every converted frame carries its source frame's capture time",
  );
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.match(metrics, /^stereospot_live_converters 1$/m, '/metrics: one converter running');
  t.match(metrics, /^stereospot_live_viewers 1$/m, '/metrics: one viewer');
  const status = async () => (await (await fetch(`${server.url}/stream_sessions/${session.session_id}`)).json()) as SessionStatus;
  t.same(
    (
      await until(async () => {
        const s = await status();
        return s.live.viewers === 1 && s;
      }, 'the live state in the status')
    ).live,
    { publishing: true, viewers: 1 },
    "the session's status: publishing, one viewer",
  );
  t.ok(
    viewer.frames.some((b) => parseLiveFrame(b).ok && b[0] === LiveKind.Audio),
    'the sound comes too',
  );
  const decoder = new LiveDecoder();
  t.teardown(() => decoder.close());
  const widths: number[] = [];
  for (const f of out) decoder.decode(f.data, f.time, (frame) => widths.push(frame.width));
  t.equal(widths.length, out.length, 'every unit decodes');
  t.ok(
    widths.every((w) => w === 640),
    'side by side, twice the width',
  );
  t.match(
    viewer.texts[0],
    { type: 'live_end', reason: 'not_publishing' },
    'a viewer before the publisher hears at once that nothing runs yet',
  );
  publisher.ws.close();
  const ends = () => viewer.texts.filter((m) => m.type === 'live_end');
  await until(() => ends().length === 2, 'live_end at the viewer', 10_000);
  t.match(ends()[1], { reason: 'publisher_gone' });
  viewer.ws.close();
  await until(async () => !(await status()).live.publishing && (await status()).live.viewers === 0, 'the live state back to none');
});

t.test('refused: a wrong token, an unknown session, a frame that is not one', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const session = await createSession(server.url);
  const base = `${server.url.replace('http', 'ws')}/ws/live`;
  await t.rejects(liveSocket(`${base}/${session.session_id}`, 'not-a-token'), /upgrade refused: 401/);
  await t.rejects(liveSocket(`${base}/no-such-session`), /upgrade refused: 404/);
  await t.rejects(liveSocket(`${base}/..%2Fetc`), /upgrade refused: 400/);
  const publisher = await liveSocket(`${base}/${session.session_id}`, session.control_token);
  publisher.ws.send(JSON.stringify({ type: 'live_config', video: { codec: 'vp8', width: 1, height: 1 }, audio: null }));
  t.match(await publisher.closed, { code: 4400, reason: /H\.264/ });
  const again = await liveSocket(`${base}/${session.session_id}`, session.control_token);
  again.ws.send(new Uint8Array(40));
  t.match(await again.closed, { code: 4400, reason: /kind/ });
  const viewer = await liveSocket(`${base}/${session.session_id}`);
  viewer.ws.send('hello');
  t.match(await viewer.closed, { code: 4400, reason: /only sends/ });
});

t.test('the capture CLI publishes its live stream beside its chunks; a viewer sees it converted', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  // Long enough for a converter thread starting on a loaded machine; stopped once the viewer has frames.
  const capture = startCapture([
    '--server',
    server.url,
    '--size',
    '320x180',
    '--duration',
    '30',
    '--chunk-seconds',
    '0.5',
    '--json',
    '--quiet',
  ]);
  t.teardown(() => capture.stop());
  const started = await capture.event('session');
  const viewer = await liveSocket(`${server.url.replace('http', 'ws')}/ws/live/${String(started.session_id)}`);
  t.teardown(() => viewer.ws.close());
  const video = () => viewer.video();
  await until(() => video().length >= 15, 'converted frames from the CLI at the viewer', 30_000).catch((error: unknown) => {
    t.comment(JSON.stringify(viewer.texts));
    throw error;
  });
  t.match(
    viewer.texts.find((m) => m.type === 'live_config'),
    { video: { width: 640, height: 180 }, audio: { codec: 'mp4a.40.2' } },
  );
  const now = Date.now() * 1000;
  const newest = video().at(-1)!;
  t.ok(Math.abs(now - newest.time) < 5_000_000, `capture times on the wall clock (newest ${((now - newest.time) / 1e6).toFixed(2)} s ago)`);
  capture.stop();
  await capture.exited;
  t.ok(
    capture.events.some((e) => e.event === 'uploaded'),
    'and the chunks went up as always',
  );
  const summary = capture.events.find((e) => e.event === 'summary');
  t.ok(summary, `and the capture ended cleanly: ${capture.stderr()}`);
  const live = summary?.live as { sent: number; dropped: number; refused: string | null } | undefined;
  t.ok(live && live.sent > 15 && live.refused === null, `its summary counts the live frames sent (${JSON.stringify(live)})`);
});

t.test('a publisher that takes its time to configure keeps its live path (it is not let go under it)', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const session = await createSession(server.url);
  const other = await createSession(server.url);
  const base = `${server.url.replace('http', 'ws')}/ws/live`;
  const publisher = await liveSocket(`${base}/${session.session_id}`, session.control_token);
  t.teardown(() => publisher.ws.close());
  // The server's housekeeping runs every 2 s; a viewer of another session hears each run (live_stats).
  const clock = await liveSocket(`${base}/${other.session_id}`);
  t.teardown(() => clock.ws.close());
  const ticks = () => clock.texts.filter((m) => m.type === 'live_stats').length;
  await until(() => ticks() >= 2, 'the housekeeping to run with the publisher connected but silent', 10_000);
  const viewer = await liveSocket(`${base}/${session.session_id}`);
  t.teardown(() => viewer.ws.close());
  const stream = await liveStream({ width: 320, height: 180, seconds: 2 });
  await publishLive(publisher, stream, () => viewer.video().length >= 5);
  await until(() => viewer.video().length >= 5, 'frames at a viewer who joined after', 30_000);
  t.pass('the viewer gets the publication');
});
