/**
 * PROFILE=aws end to end against protocol emulators (dynalite, local-aws-sqs, s3rver, our STS
 * stand-in): real SDK traffic through every adapter, the real pool and the capture CLI.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import t from 'tap';
import { launchChromium } from '../testkit/browser.ts';
import { runCapture } from '../testkit/capture.ts';
import { chunkKey, segmentKey } from '../protocol/keys.ts';
import type { CreateSessionResponse, S3UploadTarget } from '../protocol/messages.ts';
import { uploadPolicy } from '../server/adapters/aws/sts-grants.ts';
import { S3ChunkUploader } from '../capture-client/s3-uploader.ts';
import { FakePool, fakeChunk } from '../testkit/fake-pool.ts';
import { createSession, getText, playlistEntries } from '../testkit/http.ts';
import { decodeWarnings, segmentWithInit } from '../testkit/media.ts';
import { startTestServer, tempDir, until } from '../testkit/server.ts';
import { openSocket } from '../testkit/ws.ts';
import { INPUT_BUCKET, OUTPUT_BUCKET, notification, startAwsEmulators } from '../testkit/aws.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

for (const fastPath of [true, false]) {
  t.test(`capture → S3 → SQS → segments in the output bucket → presigned playlist (fast path ${fastPath ? 'on' : 'off'})`, async (t) => {
    const aws = await startAwsEmulators(t);
    const server = await startTestServer(t, { env: { ...aws.env, EXECUTION_PROVIDER: 'cpu' } });
    const run = await runCapture([
      '--server',
      server.url,
      '--size',
      '160x90',
      '--duration',
      '6',
      '--no-realtime',
      '--json',
      ...(fastPath ? [] : ['--no-fast-path']),
    ]);
    t.equal(run.code, 0, 'capture exits cleanly');
    if (run.code !== 0) t.comment(run.stderr.slice(-2000));
    const session = run.events.find((e) => e.event === 'session')!;
    const sessionId = String(session.session_id);
    t.match(
      run.events.find((e) => e.event === 'summary'),
      { chunks: 3, uploaded: 3, ready: 3, failed: 0, closed: true },
    );
    t.same(
      aws.bridged,
      [0, 1, 2].map((i) => chunkKey(sessionId, i)),
      'every chunk went through S3 → SQS',
    );

    const sts = aws.sts.requests.find((r) => r.action === 'GetFederationToken')!;
    t.ok(sts, 'GetFederationToken without STREAM_UPLOAD_ROLE_ARN');
    t.same(JSON.parse(sts.params.get('Policy')!), JSON.parse(uploadPolicy(INPUT_BUCKET, sessionId)), 'the scoped policy');

    const text = (await getText(String(session.playlist_url))).text;
    const urls = playlistEntries(text);
    t.equal(urls.length, 3);
    t.ok(text.trimEnd().endsWith('#EXT-X-ENDLIST'));
    for (const [i, url] of urls.entries()) {
      t.match(url, /X-Amz-Signature=/, 'a presigned URL');
      const viaUrl = new Uint8Array(await (await fetch(url)).arrayBuffer());
      const stored = await (
        await aws.s3.send(new GetObjectCommand({ Bucket: OUTPUT_BUCKET, Key: segmentKey(sessionId, i) }))
      ).Body!.transformToByteArray();
      t.equal(sha256(viaUrl), sha256(stored), `segment ${i} downloads byte-identical`);
    }
    t.equal(await decodeWarnings(String(session.playlist_url)), '', 'the presigned playlist decodes cleanly');
  });
}

t.test('chunks uploaded with the session credentials are stored byte-identical', async (t) => {
  const aws = await startAwsEmulators(t);
  const server = await startTestServer(t, { pool: new FakePool(), env: aws.env });
  const s = await createSession(server.url);
  t.equal(s.upload.type, 's3');
  const dir = await tempDir(t);
  const file = path.join(dir, 'chunk.mp4');
  const bytes = Buffer.concat([fakeChunk(0), Buffer.alloc(300_000, 0xab), Buffer.from('end')]);
  await writeFile(file, bytes);
  const uploader = new S3ChunkUploader(s.upload as S3UploadTarget);
  t.teardown(() => uploader.close());
  t.same(await uploader.upload(0, file), { ok: true, attempts: 1 });
  const stored = await (
    await aws.s3.send(new GetObjectCommand({ Bucket: INPUT_BUCKET, Key: chunkKey(s.session_id, 0) }))
  ).Body!.transformToByteArray();
  t.equal(sha256(stored), sha256(bytes), 'sha256 of the stored object equals the upload');
});

t.test('AssumeRole carries the scoped policy; credentials are refreshed over the socket before they expire', async (t) => {
  const aws = await startAwsEmulators(t);
  const roleArn = 'arn:aws:iam::123456789012:role/stream-upload';
  const server = await startTestServer(t, {
    // Refreshed at 80% of 5 s: a second of margin before expiry even on a loaded machine.
    pool: new FakePool(),
    env: { ...aws.env, STREAM_UPLOAD_ROLE_ARN: roleArn, UPLOAD_TOKEN_SECONDS: '5' },
  });
  const s: CreateSessionResponse = await createSession(server.url);
  const first = aws.sts.requests.at(-1)!;
  t.equal(first.action, 'AssumeRole');
  t.equal(first.params.get('RoleArn'), roleArn);
  t.equal(first.params.get('DurationSeconds'), '5');
  t.same(JSON.parse(first.params.get('Policy')!), {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
        Resource: `arn:aws:s3:::${INPUT_BUCKET}/stream_input/${s.session_id}/*`,
      },
    ],
  });
  const control = await openSocket(t, s.events_url, s.control_token);
  const refresh = await control.next((m) => m.type === 'credentials', 'credentials', 10_000);
  if (refresh.type !== 'credentials' || refresh.upload.type !== 's3') throw new Error('expected s3 credentials');
  t.ok(Date.now() < Date.parse(s.upload.expires_at), 'delivered before the first credentials expired');
  t.not(refresh.upload.session_token, s.upload.session_token);
  t.equal(aws.sts.requests.filter((r) => r.action === 'AssumeRole').length, 2);
});

t.test('a duplicate S3 event creates no duplicate segment or playlist entry', async (t) => {
  const aws = await startAwsEmulators(t);
  const pool = new FakePool();
  const server = await startTestServer(t, { pool, env: aws.env });
  const s = await createSession(server.url);
  const key = chunkKey(s.session_id, 0);
  await aws.s3.send(new PutObjectCommand({ Bucket: INPUT_BUCKET, Key: key, Body: fakeChunk(0) }));
  await aws.send(notification(INPUT_BUCKET, key, fakeChunk(0).length)); // the same event again
  await until(async () => (await aws.depth(aws.queueUrl)) === 0, 'both events acknowledged');
  await fetch(`${server.url}/stream_sessions/${s.session_id}/end`, { method: 'POST', body: '{"chunks":1}' });
  const text = await until(async () => {
    const r = await getText(s.playlist_url);
    return r.text.includes('#EXT-X-ENDLIST') && r.text;
  }, 'ENDLIST');
  t.equal(playlistEntries(text).length, 1, 'listed once');
  t.same(pool.started, [0], 'processed once');
});

t.test('a poison message ends in the DLQ after the configured receive count; others are ignored and deleted', async (t) => {
  const aws = await startAwsEmulators(t, { maxReceiveCount: 2 });
  const server = await startTestServer(t, { pool: new FakePool(), env: { ...aws.env, SQS_VISIBILITY_SECONDS: '1' } });
  await aws.send('{"this is": "not an S3 notification"');
  await aws.send(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: INPUT_BUCKET }));
  await aws.send(notification(INPUT_BUCKET, 'stream_input/some-session/readme.txt', 10));
  await until(async () => (await aws.depth(aws.dlqUrl)) === 1, 'the poison message in the DLQ', 30_000);
  await until(async () => (await aws.depth(aws.queueUrl)) === 0, 'the queue drained', 30_000);
  t.equal((await getText(`${server.url}/healthz`)).status, 200, 'still serving');
});

t.test('PROFILE=aws refuses to start without its keys, naming each', async (t) => {
  const { loadConfig } = await import('../server/config.ts');
  t.throws(
    () => loadConfig({ PROFILE: 'aws', AWS_REGION: 'eu-west-1' }),
    /PROFILE=aws needs INPUT_BUCKET_NAME, OUTPUT_BUCKET_NAME, STREAM_SESSIONS_TABLE_NAME, VIDEO_WORKER_QUEUE_URL, SIGNING_SECRET/,
  );
});

t.test('a chunk above the part size goes up multipart and is stored byte-identical', async (t) => {
  const aws = await startAwsEmulators(t);
  const server = await startTestServer(t, { pool: new FakePool(), env: aws.env });
  const s = await createSession(server.url);
  const file = path.join(await tempDir(t), 'big.mp4');
  const bytes = Buffer.alloc(9 * 1024 * 1024 + 123);
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = (i / 4096) & 255;
  fakeChunk(1).copy(bytes);
  await writeFile(file, bytes);
  const uploader = new S3ChunkUploader(s.upload as S3UploadTarget);
  t.teardown(() => uploader.close());
  t.same(await uploader.upload(1, file), { ok: true, attempts: 1 });
  const stored = await (
    await aws.s3.send(new GetObjectCommand({ Bucket: INPUT_BUCKET, Key: chunkKey(s.session_id, 1) }))
  ).Body!.transformToByteArray();
  t.equal(sha256(stored), sha256(bytes));
});

t.test('the S3 store lists every object across ListObjectsV2 pages; absent objects are undefined', async (t) => {
  const aws = await startAwsEmulators(t);
  const { S3ObjectStore } = await import('../server/adapters/aws/s3-object-store.ts');
  const store = new S3ObjectStore(aws.s3, INPUT_BUCKET, OUTPUT_BUCKET, 2);
  for (let i = 0; i < 5; i++) await store.put(chunkKey('paged', i), Buffer.from(`chunk ${i}`), 'video/mp4');
  const listed = await store.list('stream_input/paged/');
  t.same(
    listed.map((o) => o.key),
    [0, 1, 2, 3, 4].map((i) => chunkKey('paged', i)),
    'all five, over three pages',
  );
  t.equal(await store.get(chunkKey('paged', 9)), undefined);
  t.equal(await store.head(chunkKey('paged', 9)), undefined);
  t.throws(() => store.bucketOf('elsewhere/x'), TypeError);
});

t.test('presigned segment URLs are reused while most of their lifetime remains', async (t) => {
  const aws = await startAwsEmulators(t);
  const { S3SegmentUrls } = await import('../server/adapters/aws/s3-segment-urls.ts');
  const urls = new S3SegmentUrls(aws.s3, OUTPUT_BUCKET, 3600);
  const a = await urls.url('s', 'seg_00000.m4s');
  t.equal(await urls.url('s', 'seg_00000.m4s'), a, 'the same signature on the next playlist request');
  t.not(await urls.url('s', 'seg_00001.m4s'), a, 'another segment, another URL');
  t.match(a, /\/stream_output\/s\/seg_00000\.m4s\?/, 'the segment key');
  const short = new S3SegmentUrls(aws.s3, OUTPUT_BUCKET, 1);
  const first = await short.url('s', 'seg_00000.m4s');
  await until(async () => (await short.url('s', 'seg_00000.m4s')) !== first, 'a fresh signature after half the lifetime', 5000);
});

t.test('the capture page uploads to S3 with the STS credentials from the browser (AWS profile)', async (t) => {
  const aws = await startAwsEmulators(t);
  const server = await startTestServer(t, { env: { ...aws.env, EXECUTION_PROVIDER: 'cpu', CHUNK_SECONDS: '1' } });
  const browser = await launchChromium({ media: 'granted' });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const s3Puts: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'PUT' && r.url().startsWith(aws.env.AWS_ENDPOINT_URL_S3!)) s3Puts.push(new URL(r.url()).pathname);
  });
  await page.goto(`${server.url}/capture`);
  await page.selectOption('#source', 'pattern');
  await page.click('#start');
  const stats = () =>
    page.evaluate('window.stereospot') as Promise<{
      state: string;
      sessionId: string | null;
      problem: string | null;
      chunks: Array<{ state: string }>;
    }>;
  await until(
    async () => {
      const s = await stats();
      if (s.state === 'error') throw new Error(`capture failed: ${s.problem}`);
      return s.chunks.filter((c) => c.state === 'ready').length >= 2;
    },
    'two chunks converted',
    60_000,
  );
  await page.click('#stop');
  await until(async () => (await stats()).state === 'ended', 'the session to end', 60_000);
  const sessionId = (await stats()).sessionId!;
  t.ok(
    s3Puts.length >= 2 && s3Puts.every((p) => p.startsWith(`/${INPUT_BUCKET}/stream_input/${sessionId}/chunk_`)),
    `the browser PUT each chunk into the input bucket under its session (${s3Puts.length})`,
  );
  const status = JSON.parse((await getText(`${server.url}/stream_sessions/${sessionId}`)).text);
  t.equal(status.failed, 0, 'none failed');
  t.ok(status.ready >= 2, `segments from the browser's chunks (${status.ready})`);
  t.ok(
    aws.sts.requests.some((r) => r.action === 'GetFederationToken'),
    'with STS credentials scoped to the session',
  );
  const playlist = (await getText(`${server.url}/stream/${sessionId}/playlist.m3u8`)).text;
  // Capture dates only move forward. Pieces of varying frame rate share one init (gpu-pool/test/pool.test.ts);
  // on a starved machine a recorder may still drop a piece's frames or sound, which is an honest
  // #EXT-X-DISCONTINUITY (and a new init when the sound is missing) — the playlist must play through it.
  const dates = [...playlist.matchAll(/#EXT-X-PROGRAM-DATE-TIME:(.+)/g)].map((m) => Date.parse(m[1]!));
  t.ok(dates.length >= 2 && dates.every((d, i) => i === 0 || d > dates[i - 1]!), 'capture dates move forward');
  // Each segment with its own init (a piece whose sound a starved recorder dropped gets another init: ffmpeg's
  // HLS demuxer would then warn about the second moov, which players handle).
  for (const segment of playlistEntries(playlist).filter((l) => l.includes('/seg_'))) {
    t.equal(await decodeWarnings(await segmentWithInit(playlist, segment)), '', `${/seg_\d{5}/.exec(segment)?.[0]} decodes cleanly`);
  }
  t.same(errors, [], 'no page errors');
});
