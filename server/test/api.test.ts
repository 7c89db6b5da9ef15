import http from 'node:http';
import t from 'tap';
import { FakePool, fakeChunk } from '../../testkit/fake-pool.ts';
import { createSession, getText, playlistEntries, postJson, putChunk } from '../../testkit/http.ts';
import { startTestServer, until } from '../../testkit/server.ts';

t.test("the original system's smoke sequence passes over plain HTTP", async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const created = await postJson(`${server.url}/stream_sessions`, { mode: 'sbs' });
  t.equal(created.status, 200);
  const s = created.json;
  t.match(s.session_id, /^[0-9a-f-]{36}$/);
  t.equal(s.playlist_url, `${server.url}/stream/${s.session_id}/playlist.m3u8`);
  for (const field of ['access_key_id', 'secret_access_key', 'session_token', 'bucket', 'region', 'expires_at']) {
    t.type(s.upload[field], 'string', `upload.${field}`);
  }
  const first = await getText(s.playlist_url);
  t.equal(first.status, 200);
  t.equal(first.headers.get('content-type'), 'application/vnd.apple.mpegurl');
  t.equal(first.headers.get('cache-control'), 'no-store');
  t.equal(first.headers.get('access-control-allow-origin'), '*');
  t.match(first.text, '#EXTM3U');
  t.match(first.text, '#EXT-X-PLAYLIST-TYPE:EVENT');
  t.notMatch(first.text, '#EXT-X-ENDLIST');
  const end = await fetch(`${server.url}/stream_sessions/${s.session_id}/end`, { method: 'POST' });
  t.equal(end.status, 204);
  const again = await fetch(`${server.url}/stream_sessions/${s.session_id}/end`, { method: 'POST' });
  t.equal(again.status, 204, 'end is idempotent');
  const second = await getText(s.playlist_url);
  t.match(second.text, '#EXT-X-ENDLIST');
});

t.test('the playlist also answers to the name VR players read the layout from', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const names: Record<string, string> = {
    sbs: 'playlist_SBS_LR.m3u8',
    'half-sbs': 'playlist_SBS_half.m3u8',
    tb: 'playlist_TB.m3u8',
    'half-tb': 'playlist_TB_half.m3u8',
    cross: 'playlist_cross_RL.m3u8',
    'anaglyph-dubois': 'playlist.m3u8',
  };
  for (const [mode, name] of Object.entries(names)) {
    const s = (await postJson(`${server.url}/stream_sessions`, { mode })).json;
    t.equal(s.vr_playlist_url, `${server.url}/stream/${s.session_id}/${name}`, `${mode}: ${name}`);
    const status = JSON.parse((await getText(`${server.url}/stream_sessions/${s.session_id}`)).text);
    t.equal(status.vr_playlist_url, s.vr_playlist_url, 'in its status too');
    const named = await getText(s.vr_playlist_url);
    t.equal(named.status, 200);
    t.equal(named.text, (await getText(s.playlist_url)).text, 'the same playlist');
  }
  const s = (await postJson(`${server.url}/stream_sessions`, { mode: 'tb' })).json;
  t.equal(
    (await getText(`${server.url}/stream/${s.session_id}/playlist_SBS_LR.m3u8`)).status,
    200,
    "another layout's name too (the format may change live)",
  );
  const wrong = await getText(`${server.url}/stream/${s.session_id}/playlist_3D.m3u8`);
  t.equal(wrong.status, 404, 'a name that is no layout is not a playlist');
  t.match(JSON.parse(wrong.text), { error: 'playlist_not_found', message: /vr_playlist_url/ });
  t.equal((await getText(`${server.url}/stream/${s.session_id}/index.html`)).status, 404);
});

t.test('bad input gets a 4xx naming the problem, and the server keeps serving', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { MAX_CHUNK_BYTES: '4096' } });
  const bad = [
    { body: { mode: '3d' }, status: 400, field: 'mode' },
    { body: { mode: 7 }, status: 400, field: 'mode' },
    { body: '{"mode":', status: 400, field: 'body' },
    { body: '[1,2]', status: 400, field: 'body' },
    { body: JSON.stringify({ mode: 'sbs', pad: 'x'.repeat(20_000) }), status: 413, field: 'body' },
  ];
  for (const b of bad) {
    const r = await postJson(`${server.url}/stream_sessions`, b.body);
    t.equal(r.status, b.status, `status for ${String(b.body).slice(0, 20)}`);
    t.equal(r.json?.field, b.field);
    t.type(r.json?.message, 'string');
  }
  t.equal((await postJson(`${server.url}/stream_sessions`, '')).status, 200, 'an empty body means the defaults');

  const badId = await getText(`${server.url}/stream/bad.id!/playlist.m3u8`);
  t.equal(badId.status, 400);
  t.equal(JSON.parse(badId.text).field, 'session_id');
  t.equal((await getText(`${server.url}/stream/${'a'.repeat(65)}/playlist.m3u8`)).status, 400);
  t.equal((await getText(`${server.url}/stream/nosuchsession/playlist.m3u8`)).status, 404);
  t.equal((await postJson(`${server.url}/stream_sessions/nosuchsession/end`, {})).status, 404);
  t.equal((await postJson(`${server.url}/stream_sessions/bad.id/end`, {})).status, 400);
  t.equal((await getText(`${server.url}/stream_sessions/nosuchsession`)).status, 404);
  t.equal((await postJson(`${server.url}/stream_sessions/x/end`, { chunks: -1 })).json.field, 'chunks');

  const a = await createSession(server.url);
  const b = await createSession(server.url);
  t.equal((await putChunk(a, 0, fakeChunk(0), null)).status, 401, 'no token');
  const wrong = await putChunk(a, 0, fakeChunk(0), 'garbage.token');
  t.equal(wrong.status, 403, 'garbage token');
  t.equal((await putChunk(a, 0, fakeChunk(0), b.upload.session_token)).status, 403, "another session's token");
  t.equal((await putChunk(a, 0, Buffer.alloc(5000, 1))).status, 413, 'over MAX_CHUNK_BYTES');
  const notMp4 = await putChunk(a, 0, Buffer.from('this is not a video at all'));
  t.equal(notMp4.status, 415);
  t.equal(notMp4.json.error, 'not_mp4');
  t.equal((await putChunk(a, 1, fakeChunk(1))).status, 201, 'the next chunk is accepted');
  await until(async () => playlistEntries((await getText(a.playlist_url)).text).length === 2, 'gap + segment 1');
  const entries = playlistEntries((await getText(a.playlist_url)).text);
  t.equal(entries[0], 'GAP', 'the refused chunk is a gap');
  t.match(entries[1], /\/segments\/.+\/seg_00001\.m4s\?exp=\d+&sig=/);

  const health = await getText(`${server.url}/healthz`);
  t.equal(health.status, 200, 'still serving');
  t.equal(JSON.parse(health.text).status, 'ok');
  t.equal((await getText(`${server.url}/nope`)).status, 404);
});

t.test('segment URLs are signed, scoped to their session and expire', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const s = await createSession(server.url);
  t.equal((await putChunk(s, 0, fakeChunk(0))).status, 201);
  const url = await until(async () => playlistEntries((await getText(s.playlist_url)).text)[0], 'segment 0');
  const ok = await fetch(url);
  t.equal(ok.status, 200);
  t.equal(ok.headers.get('content-type'), 'video/iso.segment');
  t.equal(await ok.text(), 'segment 0 sbs');
  const map = /#EXT-X-MAP:URI="([^"]+)"/.exec((await getText(s.playlist_url)).text)?.[1];
  t.match(map, /\/segments\/.+\/init_[0-9a-f]{16}\.mp4\?exp=\d+&sig=/, 'the init segment is signed the same way');
  const init = await fetch(map!);
  t.equal(init.headers.get('content-type'), 'video/mp4');
  t.equal(await init.text(), 'init sbs');
  t.equal(
    (await fetch(map!.replace(s.session_id, (await createSession(server.url)).session_id))).status,
    403,
    'init signature does not carry over',
  );
  const other = await createSession(server.url);
  t.equal((await fetch(url.replace(s.session_id, other.session_id))).status, 403, 'signature does not carry over');
  t.equal((await fetch(url.replace(/sig=[^&]+/, 'sig=AAAA'))).status, 403, 'tampered signature');
  t.equal((await fetch(url.replace(/exp=\d+/, 'exp=1'))).status, 403, 'changed expiry');
  t.equal((await fetch(url.split('?')[0]!)).status, 403, 'unsigned');
});

t.test('chunks completing out of order never reorder the playlist (delayed worker)', async (t) => {
  const pool = new FakePool(2);
  pool.hold(0);
  const server = await startTestServer(t, { pool });
  const s = await createSession(server.url);
  for (const i of [0, 1, 2]) t.equal((await putChunk(s, i, fakeChunk(i))).status, 201);
  // 1 completes while 0 is held; 2 follows once a slot frees up.
  await until(async () => {
    const st = JSON.parse((await getText(`${server.url}/stream_sessions/${s.session_id}`)).text);
    return st.chunks.filter((c: { status: string }) => c.status === 'ready').length === 2;
  }, 'chunks 1 and 2 ready');
  t.same(playlistEntries((await getText(s.playlist_url)).text), [], 'nothing listed while chunk 0 is processing');
  pool.release(0);
  await until(async () => playlistEntries((await getText(s.playlist_url)).text).length === 3, 'three entries');
  const entries = playlistEntries((await getText(s.playlist_url)).text);
  t.same(
    entries.map((u) => /seg_(\d+)/.exec(u)![1]),
    ['00000', '00001', '00002'],
  );
});

t.test('a blocking playlist request returns as soon as the segment is listed', async (t) => {
  const pool = new FakePool(1);
  pool.hold(0);
  const server = await startTestServer(t, { pool });
  const s = await createSession(server.url);
  await putChunk(s, 0, fakeChunk(0));
  const blocked = getText(`${s.playlist_url}?_HLS_msn=0`);
  let settled = false;
  void blocked.then(() => (settled = true));
  await until(() => pool.started.includes(0), 'chunk 0 processing');
  t.notOk(settled, 'still waiting for segment 0');
  pool.release(0);
  const r = await blocked;
  t.equal(playlistEntries(r.text).length, 1);
  t.equal((await getText(`${s.playlist_url}?_HLS_msn=x`)).status, 400);
});

t.test('sessions survive a restart and resume unfinished chunks', async (t) => {
  const pool = new FakePool(1);
  pool.hold(1);
  const first = await startTestServer(t, { pool });
  const s = await createSession(first.url);
  await putChunk(s, 0, fakeChunk(0));
  await putChunk(s, 1, fakeChunk(1));
  await until(() => pool.started.includes(1), 'chunk 1 processing');
  await first.close();
  const second = await startTestServer(t, { pool: new FakePool(1), dataDir: first.dataDir });
  const url = s.playlist_url.replace(first.url, second.url);
  await until(async () => playlistEntries((await getText(url)).text).length === 2, 'both segments after restart');
  t.equal((await postJson(`${second.url}/stream_sessions/${s.session_id}/end`, {})).status, 204);
  await until(async () => (await getText(url)).text.includes('#EXT-X-ENDLIST'), 'ENDLIST');
  const list = JSON.parse((await getText(`${second.url}/stream_sessions`)).text);
  t.ok(list.sessions.some((x: { session_id: string }) => x.session_id === s.session_id));
});

t.test('shutdown runs in a fixed order and is safe twice', async (t) => {
  const pool = new FakePool();
  const server = await startTestServer(t, { pool });
  await createSession(server.url);
  await Promise.all([server.close(), server.close()]);
  t.same(server.steps, ['stop-accepting', 'settle-actors', 'close-pool', 'flush-stores']);
  t.ok(pool.closed);
  // A new connection is refused (fetch would reuse its kept-alive one).
  await t.rejects(
    new Promise((resolve, reject) => http.get(`${server.url}/healthz`, { agent: false }, resolve).on('error', reject)),
    'no longer accepting',
  );
});

t.test('with ADMIN_TOKEN set, listing sessions and the dashboard socket need it', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { ADMIN_TOKEN: 'sesame-sesame-sesame' } });
  await createSession(server.url);
  t.equal((await fetch(`${server.url}/stream_sessions`)).status, 401);
  t.equal((await fetch(`${server.url}/stream_sessions`, { headers: { Authorization: 'Bearer wrong' } })).status, 401);
  const ok = await fetch(`${server.url}/stream_sessions`, { headers: { Authorization: 'Bearer sesame-sesame-sesame' } });
  t.equal(ok.status, 200);
  t.equal(((await ok.json()) as { sessions: unknown[] }).sessions.length, 1);
});

t.test('with STREAMING_ENABLED=false chunk events are acknowledged and dropped, as in the original', async (t) => {
  const pool = new FakePool();
  const server = await startTestServer(t, { pool, env: { STREAMING_ENABLED: 'false' } });
  const s = await createSession(server.url);
  t.equal((await putChunk(s, 0, fakeChunk(0))).status, 201, 'the upload itself is stored');
  await until(
    async () => (await getText(`${server.url}/metrics`)).text.includes('stereospot_chunk_events_dropped_total 1'),
    'event dropped',
  );
  t.same(pool.started, [], 'nothing processed');
  const status = JSON.parse((await getText(`${server.url}/stream_sessions/${s.session_id}`)).text);
  t.same(status.chunks, []);
});
