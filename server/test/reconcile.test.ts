/**
 * A chunk that is in the store but whose event never reached the session (a lost announcement, a
 * queue that gave up) is not a gap: when the session ends, its owner lists the session's chunks and
 * announces the ones it did not know before the settle timeout would declare them missing.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { chunkKey } from '../../protocol/keys.ts';
import { createSession, getText, playlistEntries, postJson, putChunk } from '../../testkit/http.ts';
import { testPattern } from '../../testkit/media.ts';
import { startTestServer, until } from '../../testkit/server.ts';

t.test('a stored chunk whose event was lost is converted when the session ends, not listed as a gap', async (t) => {
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu', END_SETTLE_SECONDS: '5' } });
  const chunks = await testPattern({ seconds: 2, chunkSeconds: 1, size: '160x90' });
  const session = await createSession(server.url);
  t.equal((await putChunk(session, 0, chunks[0]!)).status, 201, 'chunk 0 uploaded as usual');
  // Chunk 1 lands in the store without an event: written straight into the local store's folder.
  const file = path.join(server.dataDir, 'objects', ...chunkKey(session.session_id, 1).split('/'));
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, chunks[1]!);
  t.equal((await postJson(`${server.url}/stream_sessions/${session.session_id}/end`, { chunks: 2 })).status, 204);
  const closed = await until(
    async () => {
      const text = (await getText(session.playlist_url)).text;
      return text.includes('#EXT-X-ENDLIST') && text;
    },
    'the playlist to close',
    30_000,
  );
  t.notMatch(closed, /#EXT-X-GAP/, 'no gap');
  t.same(
    playlistEntries(closed).map((u) => /seg_(\d{5})/.exec(u)?.[1]),
    ['00000', '00001'],
    'both chunks converted, in order',
  );
});
