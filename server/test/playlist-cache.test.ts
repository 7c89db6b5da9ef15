/**
 * Rendered playlists are reused (the control plane's fast path), but never behind the session: the
 * first GET after a segment is listed, or after the session ends, shows it — no polling, no waiting
 * out the reuse window.
 */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { acceptsGzip } from '../routes/stream.ts';
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

/** A GET with exactly these headers (fetch would add and undo gzip itself). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
    }).on('error', reject);
  });
}

t.test('playlists are gzipped for clients that accept it, and only for them', async (t) => {
  const pool = new FakePool();
  const server = await startTestServer(t, { pool });
  const s = await createSession(server.url);
  for (let i = 0; i < 3; i++) t.equal((await putChunk(s, i, fakeChunk(i))).status, 201);
  await until(async () => JSON.parse((await getText(`${server.url}/stream_sessions/${s.session_id}`)).text).ready === 3, 'three segments');

  const plain = await rawGet(s.playlist_url, {});
  t.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding: plain text');
  t.equal(plain.headers.vary, 'Accept-Encoding');
  t.match(plain.body.toString(), '#EXTM3U');

  const zipped = await rawGet(s.playlist_url, { 'accept-encoding': 'br, gzip;q=0.8' });
  t.equal(zipped.headers['content-encoding'], 'gzip');
  t.equal(gunzipSync(zipped.body).toString(), plain.body.toString(), 'the same playlist');
  t.ok(zipped.body.length < plain.body.length, `${zipped.body.length} bytes instead of ${plain.body.length}`);

  t.equal((await rawGet(s.playlist_url, { 'accept-encoding': 'gzip;q=0, identity' })).headers['content-encoding'], undefined, 'gzip refused with q=0');
});

t.test('Accept-Encoding is read as RFC 9110 says', async (t) => {
  t.equal(acceptsGzip(undefined), false);
  t.equal(acceptsGzip(''), false);
  t.equal(acceptsGzip('identity'), false);
  t.equal(acceptsGzip('gzip'), true);
  t.equal(acceptsGzip('deflate, GZIP'), true);
  t.equal(acceptsGzip('gzip;q=0'), false);
  t.equal(acceptsGzip('gzip; q=0.5'), true);
  t.equal(acceptsGzip('*'), true);
  t.equal(acceptsGzip('br;q=1, *;q=0'), false);
  t.equal(acceptsGzip('gzip;q=0, *'), false, 'named gzip wins over *');
});
