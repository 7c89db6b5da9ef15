/**
 * The server with the REAL GPU pool (one worker thread, libav in-process, the built-in ONNX model):
 * a truncated chunk fails after its retries and becomes a gap, and the chunks after it still play.
 */
import t from 'tap';
import { createSession, getText, playlistEntries, putChunk } from '../../testkit/http.ts';
import { decodeWarnings, testPattern, mediaInfo, segmentWithInit } from '../../testkit/media.ts';
import { startTestServer, until } from '../../testkit/server.ts';

t.test('a truncated chunk fails after retries as #EXT-X-GAP; later chunks still play', async (t) => {
  const chunks = await testPattern({ seconds: 6, chunkSeconds: 2 });
  t.equal(chunks.length, 3);
  const server = await startTestServer(t, {
    env: { GPU_POOL_WORKERS: '1', OUTPUT_HEIGHT: '90', CHUNK_RETRY_DELAY_MS: '20', EXECUTION_PROVIDER: 'cpu' },
  });
  const s = await createSession(server.url);
  t.equal((await putChunk(s, 0, chunks[0]!)).status, 201);
  const truncated = chunks[1]!.subarray(0, Math.floor(chunks[1]!.length / 2));
  t.equal((await putChunk(s, 1, truncated)).status, 201, 'a truncated MP4 still starts like one: accepted');
  t.equal((await putChunk(s, 2, chunks[2]!)).status, 201);
  t.equal(
    (
      await fetch(`${s.playlist_url.replace(/\/stream\/.*/, '')}/stream_sessions/${s.session_id}/end`, {
        method: 'POST',
        body: JSON.stringify({ chunks: 3 }),
      })
    ).status,
    204,
  );
  const text = await until(
    async () => {
      const r = await getText(s.playlist_url);
      return r.text.includes('#EXT-X-ENDLIST') && r.text;
    },
    'ENDLIST',
    60_000,
  );
  const entries = playlistEntries(text);
  t.equal(entries.length, 3);
  t.equal(entries[1], 'GAP');
  const status = JSON.parse((await getText(`${server.url}/stream_sessions/${s.session_id}`)).text);
  t.equal(status.chunks[1].status, 'failed');
  t.equal(status.chunks[1].attempts, 3, 'retried up to CHUNK_MAX_ATTEMPTS');
  t.match(status.chunks[1].error, /decod|moov|invalid/i, 'the error names the problem');
  // The segments after the gap decode and carry stereo video and audio.
  for (const url of [entries[0]!, entries[2]!]) {
    const file = await segmentWithInit(text, url);
    t.equal(await decodeWarnings(file), '', 'segment decodes cleanly');
    const info = await mediaInfo(file);
    t.equal(info.width, 320, 'side-by-side: twice the source width');
    t.equal(info.height, 90);
    t.ok(info.hasAudio, 'audio kept');
  }
  t.equal((await getText(`${server.url}/healthz`)).status, 200, 'still serving');
});
