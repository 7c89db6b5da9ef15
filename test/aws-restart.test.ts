/**
 * Crash recovery in PROFILE=aws: the server process is killed (SIGKILL) mid-stream and started again;
 * the stream completes with every chunk listed exactly once and no gap.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import t from 'tap';
import { getText, playlistEntries } from '../testkit/http.ts';
import { tempDir, until } from '../testkit/server.ts';
import { OUTPUT_BUCKET, startAwsEmulators } from '../testkit/aws.ts';
import { freePort, spawnNode } from '../testkit/node-process.ts';

t.test('killing the server mid-stream and starting it again loses nothing and duplicates nothing', async (t) => {
  const aws = await startAwsEmulators(t);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    ...aws.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: await tempDir(t),
    EXECUTION_PROVIDER: 'cpu',
    GPU_POOL_WORKERS: '1',
    // Unacknowledged chunk events come back quickly after the crash.
    SQS_VISIBILITY_SECONDS: '2',
  };
  const startServer = async () => {
    const child = spawnNode(['server/main.ts'], env);
    t.teardown(() => void child.kill('SIGKILL'));
    await until(async () => (await fetch(`${base}/healthz`)).ok, 'server up', 30_000);
    return child;
  };
  const first = await startServer();

  const capture = spawnNode(
    ['capture-client/cli.ts', '--server', base, '--size', '160x90', '--duration', '10', '--chunk-seconds', '2', '--json'],
    {},
  );
  t.teardown(() => void capture.kill('SIGKILL'));
  let out = '';
  capture.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => capture.on('close', r));
  const sessionId = await until(() => /"session_id":"([^"]+)"/.exec(out)?.[1], 'session created');

  // Wait for the first segment, then crash the server.
  await until(async () => {
    const r = await fetch(`${base}/stream_sessions/${sessionId}`);
    return r.ok && ((await r.json()) as { ready: number }).ready >= 1;
  }, 'first segment');
  first.kill('SIGKILL');
  await new Promise((r) => first.on('close', r));
  await startServer();

  t.equal(await exited, 0, 'the capture client rode through the crash and ended the session');
  const summary = JSON.parse(out.split('\n').filter((l) => l.includes('"event":"summary"'))[0]!) as {
    chunks: number;
    uploaded: number;
    ready: number;
  };
  const n = summary.chunks;
  t.ok(n >= 4, `about 10 s of 2-s chunks were cut (${n})`);
  t.equal(summary.uploaded, n, 'every chunk uploaded');
  t.equal(summary.ready, n, "the summary takes the server's count, including segments made while its socket was down");
  const playlistUrl = `${base}/stream/${sessionId}/playlist.m3u8`;
  const text = await until(
    async () => {
      const r = await getText(playlistUrl);
      return r.text.includes('#EXT-X-ENDLIST') && r.text;
    },
    'ENDLIST',
    60_000,
  );
  const entries = playlistEntries(text);
  t.equal(entries.length, n, 'one entry per chunk');
  t.notOk(entries.includes('GAP'), 'no gap');
  const indices = entries.map((u) => Number(/seg_(\d{5})\.m4s/.exec(u)![1]));
  t.same(indices, [...Array(n).keys()], 'each chunk exactly once, in order');
  const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: OUTPUT_BUCKET, Prefix: `stream_output/${sessionId}/` }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!);
  t.equal(keys.filter((k) => /\/seg_\d{5}\.m4s$/.test(k)).length, n, 'one segment object per chunk');
  t.equal(keys.filter((k) => /\/init_[0-9a-f]{16}\.mp4$/.test(k)).length, 1, 'one init segment for the session');
});
