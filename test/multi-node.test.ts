/**
 * Three server processes (PROFILE=aws on the emulators, a real redis-server) behind a round-robin
 * proxy, as behind a load balancer. The capture client streams through the proxy; players poll every
 * node's playlist directly the whole time. The node running the session is killed (SIGKILL) mid-stream:
 * another takes the session over, the stream completes, every chunk is listed exactly once with no gap,
 * the surviving nodes serve the same closed playlist, and no node ever served a playlist shorter than
 * one it had served before (or reopened a closed one).
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import t from 'tap';
import { getText } from '../testkit/http.ts';
import { until } from '../testkit/server.ts';
import { OUTPUT_BUCKET, startAwsEmulators } from '../testkit/aws.ts';
import { startCapture } from '../testkit/capture.ts';
import { ownerOf, segments, shape, startNodes } from '../testkit/cluster.ts';
import { startRoundRobinProxy } from '../testkit/proxy.ts';
import { startRedis } from '../testkit/redis.ts';

t.test('three nodes behind a load balancer: the owner is killed mid-stream and nothing is lost', async (t) => {
  const aws = await startAwsEmulators(t);
  const redis = await startRedis(t);
  const nodes = await startNodes(t, aws, redis, ['node-1', 'node-2', 'node-3']);
  const proxy = await startRoundRobinProxy(
    t,
    nodes.map((n) => n.port),
  );

  const capture = startCapture(['--server', proxy.url, '--size', '160x90', '--duration', '12', '--chunk-seconds', '1', '--json']);
  t.teardown(() => capture.stop());
  const sessionId = String((await capture.event('session')).session_id);

  // Players on every node, polling from the start: the longest playlist each node served so far, and
  // whether it had closed; any playlist shorter than that, not a continuation of it, or reopened is a fault.
  const seen = new Map(nodes.map((n) => [n.name, { segments: [] as string[], closed: false, polls: 0 }]));
  const faults: string[] = [];
  let polling = true;
  const players = nodes.map(async (node) => {
    const mine = seen.get(node.name)!;
    while (polling && !node.killed) {
      const answer = await getText(`${node.url}/stream/${sessionId}/playlist.m3u8`).catch(() => null);
      if (answer?.status === 200 && !node.killed) {
        mine.polls++;
        const now = segments(answer.text);
        const closed = answer.text.includes('#EXT-X-ENDLIST');
        if (now.length < mine.segments.length) faults.push(`${node.name}: ${now.length} segments after ${mine.segments.length}`);
        else if (mine.segments.some((s, i) => now[i] !== s)) faults.push(`${node.name}: the listed segments changed`);
        if (mine.closed && !closed) faults.push(`${node.name}: a closed playlist reopened`);
        mine.segments = now.length >= mine.segments.length ? now : mine.segments;
        mine.closed ||= closed;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  });

  // The owner is the node whose gauge shows the session running there.
  const owner = await ownerOf(nodes);
  await until(
    async () => {
      const r = await getText(`${owner.url}/stream_sessions/${sessionId}`);
      return r.status === 200 && (JSON.parse(r.text) as { ready: number }).ready >= 3;
    },
    'three segments before the crash',
    60_000,
  );
  owner.killed = true;
  owner.child.kill('SIGKILL');
  const killedAt = Date.now();
  t.comment(`killed the owner, ${owner.name}, after ${seen.get(owner.name)!.segments.length} segments`);
  const survivors = nodes.filter((n) => n !== owner);
  const heir = await ownerOf(survivors, 'another node to take the session over');
  t.comment(`${heir.name} took it over ${((Date.now() - killedAt) / 1000).toFixed(1)} s later`);

  t.equal(await capture.exited, 0, `the capture client completed through the proxy (${capture.stderr().slice(-400)})`);
  const summary = capture.events.find((e) => e.event === 'summary') as { chunks: number; uploaded: number; ready: number };
  const n = summary.chunks;
  t.ok(n >= 10, `about 12 s of 1-s chunks were cut (${n})`);
  t.equal(summary.uploaded, n, 'every chunk uploaded');
  t.equal(summary.ready, n, 'every chunk converted');

  // Every surviving node's final playlist: closed, each chunk once in order, no gap, the same everywhere.
  const finals = await Promise.all(
    survivors.map((node) =>
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
    t.same(segments(text), expected, `${survivors[i]!.name}: every chunk listed once, in order`);
    t.notOk(text.includes('#EXT-X-GAP'), `${survivors[i]!.name}: no gap`);
  }
  t.same(shape(finals[1]!), shape(finals[0]!), 'the surviving nodes serve the same playlist');

  // Keep the players polling a moment after the close, then stop them.
  await until(() => survivors.every((n) => seen.get(n.name)!.closed), 'every player to see the playlist closed', 10_000);
  polling = false;
  await Promise.all(players);
  for (const node of nodes)
    t.ok(seen.get(node.name)!.polls > 5, `${node.name} was polled throughout (${seen.get(node.name)!.polls} playlists)`);
  t.same(faults, [], 'no node ever served a shorter, changed or reopened playlist');

  const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: OUTPUT_BUCKET, Prefix: `stream_output/${sessionId}/` }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!);
  t.equal(keys.filter((k) => /\/seg_\d{5}\.m4s$/.test(k)).length, n, 'one segment object per chunk');
  t.ok(
    [...proxy.forwarded.values()].filter((count) => count > 0).length >= 2,
    `the proxy spread the client's requests (${[...proxy.forwarded.values()].join(', ')})`,
  );
});
