/**
 * Two nodes with the Redis bus (a real redis-server) and the AWS emulators: the node that does not run
 * a session still answers for it with the owner's truth — its session socket gets the owner's
 * playlist messages, its dashboard the owner's changes, its status the owner's counts, and a blocking
 * playlist reload on it wakes when the owner lists the segment — and the commands it receives (settings,
 * end) are carried out by the owner.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import t from 'tap';
import { chunkKey } from '../protocol/keys.ts';
import type { CreateSessionResponse, SessionEventMessage } from '../protocol/messages.ts';
import { FakePool, fakeChunk } from '../testkit/fake-pool.ts';
import { getText, playlistEntries, postJson } from '../testkit/http.ts';
import { startTestServer, until } from '../testkit/server.ts';
import { openSocket } from '../testkit/ws.ts';
import { INPUT_BUCKET, startAwsEmulators } from '../testkit/aws.ts';
import { startRedis } from '../testkit/redis.ts';

t.test("a node that does not run a session follows the owner's truth over the bus", async (t) => {
  const aws = await startAwsEmulators(t);
  const redis = await startRedis(t);
  const env = { ...aws.env, REDIS_URL: redis, SESSION_LEASE_SECONDS: '5', SQS_VISIBILITY_SECONDS: '1' };
  const ownerPool = new FakePool(1);
  const otherPool = new FakePool(1);
  const owner = await startTestServer(t, { pool: ownerPool, env: { ...env, NODE_ID: 'node-a' } });
  const other = await startTestServer(t, { pool: otherPool, env: { ...env, NODE_ID: 'node-b' } });
  const s = (await postJson(`${owner.url}/stream_sessions`, {})).json as CreateSessionResponse;
  const onOther = (url: string) =>
    url.replace(owner.url, other.url).replace(owner.url.replace('http', 'ws'), other.url.replace('http', 'ws'));

  const socket = await openSocket(t, onOther(s.events_url));
  await socket.next((m) => m.type === 'snapshot', 'snapshot on the other node');
  const dashboard = await openSocket(t, `${other.url.replace('http', 'ws')}/ws/events?format=json`);
  const upload = (i: number) =>
    aws.s3.send(new PutObjectCommand({ Bucket: INPUT_BUCKET, Key: chunkKey(s.session_id, i), Body: fakeChunk(i) }));

  await upload(0);
  const listed = await socket.next(
    (m) => m.type === 'playlist' && m.listed === 1,
    "the owner's playlist message, on the other node",
    20_000,
  );
  t.equal(listed.type === 'playlist' && listed.entries[0]?.index, 0, 'with the new entry');
  await dashboard.next(
    (m) => {
      const e = m as unknown as SessionEventMessage;
      return e.type === 'session' && e.session_id === s.session_id && e.ready === 1;
    },
    "the owner's change on the other node's dashboard",
    20_000,
  );
  t.equal(JSON.parse((await getText(`${other.url}/stream_sessions/${s.session_id}`)).text).ready, 1, "the other node's status");

  // A blocking reload on the other node, for a segment the owner has not listed yet.
  const blocked = getText(`${other.url}/stream/${s.session_id}/playlist.m3u8?_HLS_msn=1`);
  await upload(1);
  const woke = await blocked;
  t.equal(woke.status, 200);
  t.equal(playlistEntries(woke.text).length, 2, 'it wakes with the segment the owner listed');

  t.same(ownerPool.started, [0, 1], 'the owner converted each chunk');
  t.same(otherPool.started, [], 'the other node converted none');

  // Commands that reach the other node go to the owner.
  const control = await openSocket(t, `${onOther(s.events_url)}?format=json`, s.control_token);
  await control.next((m) => m.type === 'snapshot', 'control snapshot on the other node');
  control.send({ type: 'set_settings', stereo_strength: 0.07 }, 'json');
  const settings = await socket.next((m) => m.type === 'settings', 'the new settings, applied by the owner', 10_000);
  t.equal(settings.type === 'settings' && settings.stereo_strength, 0.07);
  t.equal(
    JSON.parse((await getText(`${owner.url}/stream_sessions/${s.session_id}`)).text).settings.stereo_strength,
    0.07,
    'the owner has them',
  );
  // A chunk announced to the other node (and its S3 event, to whichever node) is converted once, by the owner.
  await upload(2);
  control.send({ type: 'chunk_uploaded', index: 2, key: chunkKey(s.session_id, 2), bytes: fakeChunk(2).length }, 'json');
  await socket.next((m) => m.type === 'playlist' && m.listed === 3, 'chunk 2 listed', 20_000);
  t.same(ownerPool.started, [0, 1, 2], 'chunk 2 converted once, by the owner');
  t.same(otherPool.started, [], 'and never by the other node');
  // Rotating the control token through the other node: the owner raises the generation, and the
  // control socket on the other node holding the old token is closed there.
  const rotated = await fetch(`${other.url}/stream_sessions/${s.session_id}/control_token`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${s.control_token}` },
  });
  t.equal(rotated.status, 200, 'rotated through the node that does not run the session');
  t.match(await control.closed, { code: 4401 }, "the old token's socket on the other node is closed");
  const fresh = ((await rotated.json()) as { control_token: string }).control_token;
  const renewed = await openSocket(t, `${onOther(s.events_url)}?format=json`, fresh);
  await renewed.next((m) => m.type === 'snapshot', 'the new token is taken on the other node');
  // A node started after the session's last change has not heard of it on the bus: it finds the owner
  // from the lease and forwards to it all the same.
  const late = await startTestServer(t, { pool: new FakePool(1), env: { ...env, NODE_ID: 'node-c' } });
  t.equal((await postJson(`${late.url}/stream_sessions/${s.session_id}/end`, { chunks: 3 })).status, 204, 'ending through a third node');
  await socket.next((m) => m.type === 'ended', 'the end, on the other node', 20_000);
  t.equal(JSON.parse((await getText(`${owner.url}/stream_sessions/${s.session_id}`)).text).state, 'ended', 'the owner ended it');
});

t.test('new sessions go to the least-loaded node, whichever node is asked', async (t) => {
  const aws = await startAwsEmulators(t);
  const redis = await startRedis(t);
  const env = { ...aws.env, REDIS_URL: redis, SESSION_LEASE_SECONDS: '5', SQS_VISIBILITY_SECONDS: '1' };
  const pools = { a: new FakePool(1), b: new FakePool(2) };
  const a = await startTestServer(t, { pool: pools.a, env: { ...env, NODE_ID: 'node-a' } });
  const b = await startTestServer(t, { pool: pools.b, env: { ...env, NODE_ID: 'node-b' } });
  const nodes = async (url: string) => Number(/^stereospot_cluster_nodes (\d+)$/m.exec((await getText(`${url}/metrics`)).text)?.[1]);
  await until(async () => (await nodes(a.url)) === 2 && (await nodes(b.url)) === 2, 'each node to see the other', 10_000);

  // Six sessions, all asked of node A: B has twice A's workers, so it should run twice as many.
  const ids: string[] = [];
  for (let k = 0; k < 6; k++) ids.push(((await postJson(`${a.url}/stream_sessions`, {})).json as CreateSessionResponse).session_id);
  // Chunk 0 of session k carries marker k: each pool's list shows which sessions its node runs.
  await Promise.all(
    ids.map((id, k) => aws.s3.send(new PutObjectCommand({ Bucket: INPUT_BUCKET, Key: chunkKey(id, 0), Body: fakeChunk(k) }))),
  );
  await until(() => pools.a.started.length + pools.b.started.length === 6, 'every session to convert its chunk', 20_000);
  t.equal(pools.a.started.length, 2, `node A runs 2 sessions (${pools.a.started.join(',')})`);
  t.equal(pools.b.started.length, 4, `node B, with twice the workers, runs 4 (${pools.b.started.join(',')})`);
  const running = async (url: string) => Number(/^stereospot_sessions_running (\d+)$/m.exec((await getText(`${url}/metrics`)).text)?.[1]);
  t.equal(await running(a.url), 2, "node A's gauge");
  t.equal(await running(b.url), 4, "node B's gauge");
  // Every node answers for every session, wherever it runs.
  for (const url of [a.url, b.url]) {
    const ready = async (id: string) => JSON.parse((await getText(`${url}/stream_sessions/${id}`)).text).ready === 1;
    await until(async () => (await Promise.all(ids.map(ready))).every(Boolean), `${url}: every session with its segment`, 10_000);
  }
  t.pass('each node shows every session with its segment');

  // A node that shuts down leaves the table at once: new sessions go to the one left.
  await b.close();
  await until(async () => (await nodes(a.url)) === 1, 'node A to see node B gone', 5_000);
  const after = ((await postJson(`${a.url}/stream_sessions`, {})).json as CreateSessionResponse).session_id;
  await aws.s3.send(new PutObjectCommand({ Bucket: INPUT_BUCKET, Key: chunkKey(after, 0), Body: fakeChunk(6) }));
  await until(() => pools.a.started.includes(6), 'node A to run the new session', 20_000);
});
