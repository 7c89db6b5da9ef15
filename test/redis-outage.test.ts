/**
 * Redis goes away mid-stream and comes back. Three nodes (PROFILE=aws on the emulators, a real
 * redis-server) behind a round-robin proxy; the capture client streams a clip in real time through
 * it. After three segments redis-server is killed, kept away for longer than a lease, and started
 * again (empty) on the same port. The session keeps converting on its owner, no chunk that reached the
 * bucket becomes a gap or is converted twice, every node's playlist converges to the same closed list,
 * and /healthz says what is degraded meanwhile.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import t from 'tap';
import { getText } from '../testkit/http.ts';
import { until } from '../testkit/server.ts';
import { OUTPUT_BUCKET, startAwsEmulators } from '../testkit/aws.ts';
import { startCapture } from '../testkit/capture.ts';
import { ownerOf, segments, shape, startNodes } from '../testkit/cluster.ts';
import { startRoundRobinProxy } from '../testkit/proxy.ts';
import { startRedisServer } from '../testkit/redis.ts';

const OUTAGE_MS = 6000; // three leases (SESSION_LEASE_SECONDS=2)

t.test('Redis killed mid-stream and started again: nothing lost, converted once, every node agrees', async (t) => {
  const aws = await startAwsEmulators(t);
  const redis = await startRedisServer(t);
  const nodes = await startNodes(t, aws, redis.url, ['node-1', 'node-2', 'node-3']);
  const proxy = await startRoundRobinProxy(
    t,
    nodes.map((n) => n.port),
  );
  const capture = startCapture(['--server', proxy.url, '--size', '160x90', '--duration', '14', '--chunk-seconds', '1', '--json']);
  t.teardown(() => capture.stop());
  const sessionId = String((await capture.event('session')).session_id);
  const owner = await ownerOf(nodes);
  const status = async (url: string) =>
    JSON.parse((await getText(`${url}/stream_sessions/${sessionId}`)).text) as { ready: number; failed: number };
  await until(async () => (await status(owner.url)).ready >= 3, 'three segments before the outage', 60_000);

  await redis.stop();
  const stoppedAt = Date.now();
  const readyAtStop = (await status(owner.url)).ready;
  t.comment(`redis-server killed after ${readyAtStop} segments; ${owner.name} owns the session`);
  // Meanwhile every node says the bus is down, and the owner keeps converting.
  for (const node of nodes) {
    const health = await until(
      async () => {
        const r = await getText(`${node.url}/healthz`);
        const body = JSON.parse(r.text) as { status: string; degraded?: string[] };
        return body.degraded?.includes('bus') && { code: r.status, body };
      },
      `${node.name}'s /healthz to report the bus down`,
      10_000,
    );
    t.match(health, { code: 200, body: { status: 'degraded' } }, `${node.name}: degraded, still serving`);
  }
  await until(async () => (await status(owner.url)).ready > readyAtStop, 'the owner to convert a chunk during the outage', 20_000);
  await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
  await redis.start();
  t.comment(`redis-server back after ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`);
  for (const node of nodes) {
    await until(
      async () => (JSON.parse((await getText(`${node.url}/healthz`)).text) as { status: string }).status === 'ok',
      `${node.name}'s /healthz to recover`,
      20_000,
    );
  }

  t.equal(await capture.exited, 0, `the capture client completed through the proxy (${capture.stderr().slice(-400)})`);
  const summary = capture.events.find((e) => e.event === 'summary') as { chunks: number; uploaded: number; ready: number; failed: number };
  const n = summary.chunks;
  t.ok(n >= 12, `about 14 s of 1-s chunks were cut (${n})`);
  t.equal(summary.uploaded, n, 'every chunk uploaded');
  t.match(summary, { ready: n, failed: 0 }, 'every chunk converted, none failed');

  const finals = await Promise.all(
    nodes.map((node) =>
      until(
        async () => {
          const r = await getText(`${node.url}/stream/${sessionId}/playlist.m3u8`);
          return r.text.includes('#EXT-X-ENDLIST') && r.text;
        },
        `${node.name}'s playlist to close`,
        30_000,
      ),
    ),
  );
  const expected = Array.from({ length: n }, (_, i) => `seg_${String(i).padStart(5, '0')}.m4s`);
  for (const [i, text] of finals.entries()) {
    t.same(segments(text), expected, `${nodes[i]!.name}: every chunk listed once, in order`);
    t.notOk(text.includes('#EXT-X-GAP'), `${nodes[i]!.name}: no gap`);
    t.same(shape(text), shape(finals[0]!), `${nodes[i]!.name} serves the same playlist`);
  }
  const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: OUTPUT_BUCKET, Prefix: `stream_output/${sessionId}/` }));
  t.equal((listed.Contents ?? []).filter((o) => /\/seg_\d{5}\.m4s$/.test(o.Key!)).length, n, 'one segment object per chunk');
  t.equal(await aws.depth(aws.dlqUrl), 0, 'no chunk event reached the DLQ');
});
