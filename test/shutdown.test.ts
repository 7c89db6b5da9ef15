/**
 * Shutting down in the middle of the work, with the real pool and a real live converter: the server
 * closes while a chunk converts and a live stream is being converted for a viewer. Nothing may abort the
 * process (a worker thread terminated inside libav or the network's runtime does), no conversion has to
 * be stopped by force, and nothing is lost: a server started again on the same data converts what the
 * first one left.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createSession, getText, putChunk } from '../testkit/http.ts';
import { liveSocket, liveStream, publishLive } from '../testkit/live-stream.ts';
import { makeChunks } from '../testkit/media.ts';
import { startTestServer, until } from '../testkit/server.ts';
import type { SessionStatus } from '../protocol/messages.ts';

const ENV = { EXECUTION_PROVIDER: 'cpu', GPU_POOL_WORKERS: '1' };

t.test('closing while a chunk converts and a live stream is converted: no abort, nothing forced, nothing lost', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-shutdown-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const chunks = await makeChunks({ video: 'testsrc2=size=640x360:rate=30', audio: true, seconds: 6, chunkSeconds: 2 });
  const first = await startTestServer(t, { env: ENV, dataDir });
  const session = await createSession(first.url);
  const status = async (url: string) => JSON.parse((await getText(`${url}/stream_sessions/${session.session_id}`)).text) as SessionStatus;

  // A live stream converted for a viewer, still being published when the server closes.
  const url = `${first.url.replace('http', 'ws')}/ws/live/${session.session_id}`;
  const viewer = await liveSocket(url);
  t.teardown(() => viewer.ws.close());
  const publisher = await liveSocket(url, session.control_token);
  t.teardown(() => publisher.ws.close());
  const stream = await liveStream({ width: 320, height: 180, seconds: 2 });
  let closing = false;
  const publishing = publishLive(publisher, stream, () => closing, 60);
  await until(() => viewer.video().length >= 5, 'converted live frames at the viewer', 60_000);

  // Every chunk uploaded; the server closes while the first of them converts.
  for (const [i, chunk] of chunks.entries()) t.equal((await putChunk(session, i, chunk)).status, 201);
  await until(async () => (await status(first.url)).chunks.some((c) => c.status === 'processing'), 'a chunk converting');
  closing = true;
  await first.close();
  await publishing;
  t.same(first.steps, ['stop-accepting', 'settle-actors', 'close-pool', 'flush-stores'], 'every shutdown step ran');
  t.notOk(
    first.logs.some((line) => line.includes('stopped by force')),
    'no conversion had to be stopped by force (they were cancelled between frames)',
  );
  t.match(await viewer.closed, { code: 1001 }, 'the viewer was told the server is going away');

  // Started again on the same data: what the first server left is converted, nothing lost.
  const second = await startTestServer(t, { env: ENV, dataDir });
  const done = await until(
    async () => {
      const s = await status(second.url);
      return s.ready === chunks.length && s;
    },
    'every chunk converted after the restart',
    120_000,
  );
  t.equal(done.failed, 0, 'none failed');
  t.same(
    done.chunks.map((c) => c.status),
    chunks.map(() => 'ready'),
  );
});
