/**
 * Rendered playlists are reused (the control plane's fast path), but never behind the session: the
 * first GET after a segment is listed, or after the session ends, shows it — no polling, no waiting
 * out the reuse window.
 */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { LocalSegmentUrls } from '../adapters/local/segment-urls.ts';
import { acceptsGzip } from '../routes/stream.ts';
import { FakePool, fakeChunk } from '../../testkit/fake-pool.ts';
import { createSession, getText, playlistEntries, putChunk } from '../../testkit/http.ts';
import { startTestServer, until } from '../../testkit/server.ts';

t.test('a reused playlist is never stale', async (t) => {
  const pool = new FakePool();
  const server = await startTestServer(t, { pool });
  const s = await createSession(server.url);
  const status = async () =>
    JSON.parse((await getText(`${server.url}/stream_sessions/${s.session_id}`)).text) as { ready: number; state: string };

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

/** Counts the segment URLs the server signs (every rendering signs each URL it lists); `failNext` makes the next signing throw. */
function spyOnSigning(t: Test): { calls: () => number; failNext: () => void } {
  const original = LocalSegmentUrls.prototype.url;
  let calls = 0;
  let fail = false;
  LocalSegmentUrls.prototype.url = function (this: LocalSegmentUrls, ...args: Parameters<typeof original>) {
    calls++;
    if (fail) {
      fail = false;
      return Promise.reject(new Error('signing unavailable (test)'));
    }
    return original.apply(this, args);
  };
  t.teardown(() => void (LocalSegmentUrls.prototype.url = original));
  return { calls: () => calls, failNext: () => void (fail = true) };
}

t.test('held reloads woken together share one rendering; a failed rendering is not kept', async (t) => {
  const pool = new FakePool();
  const server = await startTestServer(t, { pool });
  const signing = spyOnSigning(t);
  const s = await createSession(server.url);
  const held = Array.from({ length: 20 }, () => getText(`${s.playlist_url}?_HLS_msn=0`));
  await until(async () => /^stereospot_playlist_requests_held 20$/m.test((await getText(`${server.url}/metrics`)).text), '20 reloads held');
  const before = signing.calls();
  t.equal((await putChunk(s, 0, fakeChunk(0))).status, 201);
  const answers = await Promise.all(held);
  const text = answers[0]!.text;
  t.ok(
    answers.every((a) => a.status === 200 && a.text === text),
    'every held reload got the same playlist',
  );
  const signed = text.match(/\/segments\//g)?.length ?? 0;
  t.equal(signing.calls() - before, signed, `one rendering for 20 requests: ${signed} URLs signed once (the segment and its init)`);

  // The session ends: a new view. Its first rendering fails; the answer says so and the next GET renders again.
  t.equal((await fetch(`${server.url}/stream_sessions/${s.session_id}/end`, { method: 'POST' })).status, 204);
  await until(
    async () => JSON.parse((await getText(`${server.url}/stream_sessions/${s.session_id}`)).text).state === 'ended',
    'the session to end',
  );
  signing.failNext();
  const failed = await getText(s.playlist_url);
  t.equal(failed.status, 503, 'signing failed: 503');
  t.match(JSON.parse(failed.text), { error: 'storage_unavailable' });
  const retried = await getText(s.playlist_url);
  t.equal(retried.status, 200, 'the next GET renders again instead of reusing the failure');
  t.match(retried.text, '#EXT-X-ENDLIST');
});

/** A GET with exactly these headers (fetch would add and undo gzip itself). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
      })
      .on('error', reject);
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

  t.equal(
    (await rawGet(s.playlist_url, { 'accept-encoding': 'gzip;q=0, identity' })).headers['content-encoding'],
    undefined,
    'gzip refused with q=0',
  );
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
