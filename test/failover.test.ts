/**
 * Two servers sharing one AWS profile (emulators): exactly one runs a session — the holder of its
 * lease. The other shows the stored state, leaves chunk events to the owner and refuses commands with
 * 503. When the owner is paused (SIGSTOP) past its lease, the other node takes the session over,
 * converts the chunks that keep coming and closes it; the old owner, resumed (SIGCONT), cannot write
 * the record any more (fencing) and stops acting for the session. Chunk events the non-owner receives
 * are given back to the queue for the owner (never bounced into the DLQ: the cause of this test's rare
 * "chunk 0 never converted").
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import t from 'tap';
import { chunkKey } from '../protocol/keys.ts';
import type { CreateSessionResponse, SessionStatus } from '../protocol/messages.ts';
import { getText, playlistEntries, postJson } from '../testkit/http.ts';
import { testPattern } from '../testkit/media.ts';
import { startTestServer, tempDir, until } from '../testkit/server.ts';
import { INPUT_BUCKET, startAwsEmulators } from '../testkit/aws.ts';
import { freePort, spawnNode } from '../testkit/node-process.ts';

t.test('a paused owner loses its session to another node and, resumed, cannot overwrite it', async (t) => {
  const aws = await startAwsEmulators(t);
  const common = {
    ...aws.env,
    EXECUTION_PROVIDER: 'cpu',
    GPU_POOL_WORKERS: '1',
    SESSION_LEASE_SECONDS: '2',
    // Events a stopped node had received come back to the queue quickly.
    SQS_VISIBILITY_SECONDS: '2',
  };
  const port = await freePort();
  const a = `http://127.0.0.1:${port}`;
  const owner = spawnNode(['server/main.ts'], {
    ...common,
    NODE_ID: 'node-a',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: await tempDir(t),
  });
  let ownerLog = '';
  owner.stdout!.on('data', (d: Buffer) => (ownerLog += d.toString()));
  owner.stderr!.on('data', (d: Buffer) => (ownerLog += d.toString()));
  t.teardown(() => {
    owner.kill('SIGCONT');
    owner.kill('SIGKILL');
  });
  await until(async () => (await fetch(`${a}/healthz`)).ok, 'node A up', 30_000);
  const other = await startTestServer(t, { env: { ...common, NODE_ID: 'node-b' } });
  const b = other.url;

  const chunks = await testPattern({ seconds: 3, chunkSeconds: 1, size: '160x90' });
  t.equal(chunks.length, 3);
  const s = (await postJson(`${a}/stream_sessions`, {})).json as CreateSessionResponse;
  const upload = (i: number) =>
    aws.s3.send(new PutObjectCommand({ Bucket: INPUT_BUCKET, Key: chunkKey(s.session_id, i), Body: chunks[i]! }));
  const status = async (base: string) => JSON.parse((await getText(`${base}/stream_sessions/${s.session_id}`)).text) as SessionStatus;

  await upload(0);
  // Whichever node the queue hands the event to, only the owner converts it.
  await until(async () => (await status(a)).ready === 1, 'chunk 0 converted by the owner', 30_000);
  // Without a bus, node B shows the stored record, read again once its copy is a second old (it may
  // have read the record before chunk 0 was ready, when the queue handed it the event).
  t.ok(await until(async () => (await status(b)).ready === 1, 'node B to show the stored state', 5000), 'node B shows the stored state');
  const refused = await postJson(`${b}/stream_sessions/${s.session_id}/end`, {});
  t.equal(refused.status, 503, 'node B does not act for a session it does not own');
  t.equal(refused.json.error, 'session_elsewhere');

  owner.kill('SIGSTOP');
  const stoppedAt = Date.now();
  await upload(1);
  await upload(2);
  await until(async () => (await status(b)).ready === 3, 'node B took over and converted the new chunks', 60_000);
  t.comment(`taken over and converted ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after the owner stopped`);
  t.equal((await postJson(`${b}/stream_sessions/${s.session_id}/end`, { chunks: 3 })).status, 204, 'the new owner ends it');
  const closed = await until(
    async () => {
      const text = (await getText(`${b}/stream/${s.session_id}/playlist.m3u8`)).text;
      return text.includes('#EXT-X-ENDLIST') && text;
    },
    'the playlist closed',
    30_000,
  );
  t.same(
    playlistEntries(closed).map((u) => /seg_(\d{5})/.exec(u)?.[1]),
    ['00000', '00001', '00002'],
    'every chunk once, in order, no gap',
  );

  owner.kill('SIGCONT');
  await until(() => ownerLog.includes('session lease lost'), 'the old owner to notice it lost the session', 20_000);
  // Its stale copy goes as it gives the session up; what it shows from then on is the stored record.
  const after = await until(
    async () => {
      const now = await status(a);
      return now.state === 'ended' && now;
    },
    'the old owner to show the stored record',
    10_000,
  ).catch(async () => status(a));
  t.match(after, { state: 'ended', ready: 3, failed: 0 }, "the old owner now shows the new owner's truth");
  t.match(await status(b), { state: 'ended', ready: 3, failed: 0 }, 'and the record was not overwritten');
  // Events a non-owner received went back to the queue for the owner: none was counted into the DLQ.
  t.equal(await aws.depth(aws.dlqUrl), 0, 'no chunk event reached the DLQ');
});
