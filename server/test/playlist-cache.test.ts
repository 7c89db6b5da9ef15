/**
 * Rendered playlists are reused (the control plane's fast path), but never behind the session: the
 * first GET after a segment is listed, or after the session ends, shows it — no polling, no waiting
 * out the reuse window.
 */
import t from 'tap';
import { FakePool, fakeChunk } from './helpers/fake-pool.ts';
import { createSession, getText, playlistEntries, putChunk } from './helpers/http.ts';
import { startTestServer, until } from './helpers/server.ts';

t.test('a reused playlist is never stale', async (t) => {
  const pool = new FakePool();
  const server = await startTestServer(t, { pool });
  const s = await createSession(server.url);
  const status = async () => JSON.parse((await getText(`${server.url}/stream_sessions/${s.session_id}`)).text) as { ready: number; state: string };

  t.equal((await putChunk(s, 0, fakeChunk(0))).status, 201);
  await until(async () => (await status()).ready === 1, 'segment 0');
  const first = (await getText(s.playlist_url)).text;
  t.equal((await getText(s.playlist_url)).text, first, 'the same state renders the same text');
  t.equal(playlistEntries(first).length, 1);

  pool.hold(1);
  t.equal((await putChunk(s, 1, fakeChunk(1))).status, 201);
  await until(() => pool.started.includes(1), 'chunk 1 converting');
  t.equal(playlistEntries((await getText(s.playlist_url)).text).length, 1, 'not listed while converting');
  pool.release(1);
  await until(async () => (await status()).ready === 2, 'segment 1');
  t.equal(playlistEntries((await getText(s.playlist_url)).text).length, 2, 'the first GET after it is listed shows it');

  t.equal((await fetch(`${server.url}/stream_sessions/${s.session_id}/end`, { method: 'POST' })).status, 204);
  await until(async () => (await status()).state === 'ended', 'the session to end');
  const last = (await getText(s.playlist_url)).text;
  t.match(last, '#EXT-X-ENDLIST', 'the first GET after the end is closed');

  // Another host name for the same server: its own URLs, not the other's cached text.
  const viaLocalhost = (await getText(s.playlist_url.replace('127.0.0.1', 'localhost'))).text;
  const urls = playlistEntries(viaLocalhost);
  t.ok(urls.length === 2 && urls.every((u) => u.startsWith('http://localhost:')), `URLs based on the host asked: ${urls.join(' ')}`);
});
