/**
 * The live path across two nodes (a real redis-server between them, the AWS emulators under them): a
 * session runs on one node; a publisher that reached the other node is relayed to it, and so are
 * viewers there — each gets the converted stream from a keyframe, every unit decodable, while a viewer
 * on the owner gets the same; the owner's status counts the viewers of both nodes, and when the
 * publisher leaves, both hear it. The relay messages are checked at the boundary (a forged one is refused).
 */
import t from 'tap';
import { LiveDecoder } from '../gpu-pool/live-codec.ts';
import type { CreateSessionResponse, SessionStatus } from '../protocol/messages.ts';
import { parseLiveInbound, parseLiveOutbound } from '../server/cluster/live-relay.ts';
import { startAwsEmulators } from '../testkit/aws.ts';
import { FakePool } from '../testkit/fake-pool.ts';
import { getText, postJson } from '../testkit/http.ts';
import { liveSocket, liveStream, publishLive } from '../testkit/live-stream.ts';
import { startRedis } from '../testkit/redis.ts';
import { startTestServer, until } from '../testkit/server.ts';

const running = async (url: string) => Number(/^stereospot_sessions_running (\d+)$/m.exec((await getText(`${url}/metrics`)).text)?.[1]);

t.test('a publisher and a viewer on the node that does not run the session are relayed to the one that does', async (t) => {
  const aws = await startAwsEmulators(t);
  const redis = await startRedis(t);
  const env = { ...aws.env, REDIS_URL: redis, SESSION_LEASE_SECONDS: '5', SQS_VISIBILITY_SECONDS: '1' };
  const a = await startTestServer(t, { pool: new FakePool(1), env: { ...env, NODE_ID: 'node-a' } });
  const b = await startTestServer(t, { pool: new FakePool(1), env: { ...env, NODE_ID: 'node-b' } });
  const session = (await postJson(`${a.url}/stream_sessions`, {})).json as CreateSessionResponse;
  const owner = await until(async () => ((await running(a.url)) === 1 ? a : (await running(b.url)) === 1 ? b : undefined), 'the owner');
  const other = owner === a ? b : a;
  const live = (node: { url: string }) => `${node.url.replace('http', 'ws')}/ws/live/${session.session_id}`;

  const remoteViewer = await liveSocket(live(other));
  t.teardown(() => remoteViewer.ws.close());
  const ownViewer = await liveSocket(live(owner));
  t.teardown(() => ownViewer.ws.close());
  const publisher = await liveSocket(live(other), session.control_token);
  t.teardown(() => publisher.ws.close());
  const stream = await liveStream({ width: 320, height: 180, seconds: 2, audio: true });
  const enough = () => remoteViewer.video().length >= 20 && ownViewer.video().length >= 20;
  const sent = await publishLive(publisher, stream, enough, 20);
  await until(enough, 'converted frames at both viewers', 40_000);

  for (const [name, viewer] of [
    ['the viewer on the other node', remoteViewer],
    ['the viewer on the owner', ownViewer],
  ] as const) {
    const frames = viewer.video();
    t.ok(frames[0]!.key, `${name} starts at a keyframe`);
    t.match(
      viewer.texts.find((m) => m.type === 'live_config'),
      { video: { width: 640, height: 180 }, audio: { codec: 'mp4a.40.2' } },
    );
    t.same(
      frames.filter((f) => !sent.has(f.time)).map((f) => f.time),
      [],
      `${name}: every unit on its source frame's capture time`,
    );
    const decoder = new LiveDecoder();
    t.teardown(() => decoder.close());
    let pictures = 0;
    for (const f of frames) decoder.decode(f.data, f.time, () => pictures++);
    t.equal(pictures, frames.length, `${name}: all ${frames.length} units decode`);
  }
  t.ok(remoteViewer.frames.length > remoteViewer.video().length, 'the sound is relayed too');
  const status = async () => (await (await fetch(`${other.url}/stream_sessions/${session.session_id}`)).json()) as SessionStatus;
  const { live: state } = await until(async () => {
    const s = await status();
    return s.live.viewers === 2 && s;
  }, 'both viewers counted');
  t.same(state, { publishing: true, viewers: 2 }, "the owner counts both nodes' viewers (seen from either)");

  publisher.ws.close();
  for (const viewer of [remoteViewer, ownViewer]) {
    await until(
      () => viewer.texts.some((m) => m.type === 'live_end' && m.reason === 'publisher_gone'),
      'publisher_gone at both viewers',
      10_000,
    );
  }
  t.pass('both viewers hear that the publisher left');
});

t.test('relay messages are checked at the boundary', async (t) => {
  const frame = Buffer.from(new Uint8Array(20)).toString('base64');
  t.match(parseLiveInbound({ kind: 'media', sessionId: 's', from: 'n', data: frame }), { ok: false, problem: /data/ });
  t.match(parseLiveInbound({ kind: 'watch', sessionId: 's', from: 'n', viewers: -1, keyframe: false }), { ok: false, problem: /viewers/ });
  t.match(parseLiveInbound({ kind: 'publish', sessionId: '../x', from: 'n' }), { ok: false, problem: /sessionId/ });
  t.match(parseLiveInbound({ kind: 'watch', sessionId: 's', from: 'n', viewers: 2, keyframe: true }), {
    ok: true,
    value: { kind: 'watch', viewers: 2 },
  });
  t.match(parseLiveOutbound({ kind: 'control', sessionId: 's', message: { type: 'live_end', reason: 'because' } }), { ok: false });
  t.match(parseLiveOutbound({ kind: 'control', sessionId: 's', message: { type: 'live_end', reason: 'overloaded', extra: 1 } }), {
    ok: true,
    value: { message: { type: 'live_end', reason: 'overloaded' } },
  });
  t.notOk(
    'extra' in
      (
        parseLiveOutbound({ kind: 'control', sessionId: 's', message: { type: 'live_end', reason: 'overloaded', extra: 1 } }) as {
          value: { message: object };
        }
      ).value.message,
    'rebuilt field by field',
  );
});
