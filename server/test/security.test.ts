/**
 * Each finding of an outsider's audit (issue 19), reproduced against a real server and shown refused
 * with its status code and error body — and the server still answering /healthz during each.
 */
import { readdir, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { CreateSessionResponse } from '../../protocol/messages.ts';
import { FakePool, fakeChunk } from '../../testkit/fake-pool.ts';
import { createSession, getText, postJson, putChunk } from '../../testkit/http.ts';
import { runServerUntilExit, startTestServer, tempDir, until, type TestServer } from '../../testkit/server.ts';

const ADMIN = 'admin-token-0123456789';

/** POST with optional headers; the status and the parsed JSON body. */
async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: { error?: string; message?: string; field?: string } | undefined }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** The server still serves everyone else. */
async function healthy(t: Test, server: TestServer): Promise<void> {
  t.equal((await fetch(`${server.url}/healthz`)).status, 200, '/healthz still answers');
}

const endUrl = (server: TestServer, s: CreateSessionResponse) => `${server.url}/stream_sessions/${s.session_id}/end`;
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

t.test('with ADMIN_TOKEN, nobody ends a session without its control token or the admin token', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { ADMIN_TOKEN: ADMIN } });
  const a = await createSession(server.url);
  const b = await createSession(server.url);
  t.match(
    await post(endUrl(server, a), {}),
    { status: 401, json: { error: 'unauthorized', message: /control token or the admin token/ } },
    'no credentials',
  );
  t.match(
    await post(endUrl(server, a), {}, bearer(b.control_token)),
    { status: 401, json: { error: 'token_wrong_session' } },
    "another session's control token",
  );
  t.match(
    await post(endUrl(server, a), {}, bearer(a.upload.type === 'http' ? a.upload.token : 'x')),
    { status: 401, json: { error: 'token_wrong_scope' } },
    'its upload token',
  );
  t.match(await post(endUrl(server, a), {}, bearer('forged.token')), { status: 401, json: { error: 'token_bad_signature' } });
  t.match(
    await post(endUrl(server, a), {}, { ...bearer(a.control_token), Origin: 'https://evil.example' }),
    { status: 403, json: { error: 'origin_refused' } },
    'a page of another site, even with the token',
  );
  await healthy(t, server);
  t.equal(
    ((await (await fetch(`${server.url}/stream_sessions/${a.session_id}`)).json()) as { state: string }).state,
    'live',
    'still live after every refusal',
  );
  t.equal((await post(endUrl(server, a), {}, bearer(a.control_token))).status, 204, 'its own control token ends it');
  t.equal((await post(endUrl(server, b), {}, bearer(ADMIN))).status, 204, 'the admin token ends any');
  t.equal((await post(endUrl(server, b), {}, { ...bearer(ADMIN), Origin: server.url })).status, 204, 'from our own pages too (idempotent)');
});

t.test('without ADMIN_TOKEN the original open contract holds, on loopback only', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const s = await createSession(server.url);
  t.equal((await post(endUrl(server, s), {})).status, 204, "the original smoke script's end, with no credentials");
  t.match(
    await post(`${server.url}/stream_sessions`, {}, { Origin: 'http://192.168.1.5:8080' }),
    { status: 403, json: { error: 'origin_refused' } },
    'but no page of another origin creates or ends',
  );
  await healthy(t, server);
});

t.test('a server reachable beyond loopback without ADMIN_TOKEN refuses to start, naming the fix', async (t) => {
  const { code, output } = await runServerUntilExit({ HOST: '0.0.0.0', PORT: '0', DATA_DIR: await tempDir(t), ADMIN_TOKEN: '' });
  t.equal(code, 78, 'EX_CONFIG');
  t.match(output, /HOST=0\.0\.0\.0 would serve every session to anyone.*set ADMIN_TOKEN/);
});

t.test('one request cannot inflate a session: the ending names at most what was seen plus a margin', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { END_SETTLE_SECONDS: '1' } });
  const s = await createSession(server.url);
  t.equal((await putChunk(s, 0, fakeChunk(0))).status, 201);
  const huge = await post(endUrl(server, s), { chunks: 100_000 });
  t.match(huge, { status: 400, json: { error: 'invalid_chunks', field: 'chunks', message: /1 seen, so at most \d+/ } });
  await healthy(t, server);
  t.equal((await post(endUrl(server, s), { chunks: 3 })).status, 204, 'an honest count (two uploads still on their way) is taken');
  const playlist = await until(async () => {
    const r = await getText(s.playlist_url);
    return r.text.includes('#EXT-X-ENDLIST') && r.text;
  }, 'the playlist closes after the settle time');
  const gaps = playlist.split('\n').filter((_line, i, all) => all[i - 2] === '#EXT-X-GAP');
  t.same(gaps, ['seg_00001.m4s', 'seg_00002.m4s'], 'each gap is a bare name: nothing to sign, nothing to fetch');
  t.notMatch(
    playlist
      .split('\n')
      .filter((l) => l.startsWith('seg_'))
      .join(),
    /sig=/,
  );
});

t.test('a status carries one page of chunks', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const s = await createSession(server.url);
  for (let i = 0; i < 5; i++) t.equal((await putChunk(s, i, fakeChunk(i))).status, 201);
  const status = (query: string) =>
    fetch(`${server.url}/stream_sessions/${s.session_id}${query}`).then(async (r) => ({
      status: r.status,
      json: (await r.json()) as Record<string, unknown>,
    }));
  await until(async () => ((await status('')).json.chunks as unknown[]).length === 5 && true, 'five chunks known');
  const first = await status('?chunks_from=0&chunks_limit=2');
  t.same(
    (first.json.chunks as Array<{ index: number }>).map((c) => c.index),
    [0, 1],
  );
  t.match(first.json, { chunks_total: 5, chunks_next: 2 });
  const last = await status('?chunks_from=4&chunks_limit=2');
  t.match(last.json, { chunks_total: 5, chunks_next: null });
  t.same(
    (last.json.chunks as Array<{ index: number }>).map((c) => c.index),
    [4],
  );
  t.same(
    ((await status('?chunks_limit=3')).json.chunks as Array<{ index: number }>).map((c) => c.index),
    [2, 3, 4],
    'the newest by default',
  );
  for (const bad of ['?chunks_limit=0', '?chunks_limit=1001', '?chunks_limit=0x10', '?chunks_from=-1', '?chunks_from=1&chunks_from=2']) {
    t.match(await status(bad), { status: 400, json: { field: /^chunks_(from|limit)$/ } }, `${bad} refused`);
  }
  await healthy(t, server);
});

t.test('numbers in queries are plain decimals given once', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { ADMIN_TOKEN: ADMIN } });
  const s = await createSession(server.url);
  for (const msn of ['0x10', '1e3', '', '+1', '1.0', '1&_HLS_msn=2']) {
    const r = await fetch(`${s.playlist_url}?_HLS_msn=${msn}`);
    t.match(
      { status: r.status, json: await r.json() },
      { status: 400, json: { error: 'invalid_msn', field: '_HLS_msn' } },
      `_HLS_msn=${msn} refused`,
    );
  }
  const list = await fetch(`${server.url}/stream_sessions?limit=0x10`, { headers: bearer(ADMIN) });
  t.match({ status: list.status, json: await list.json() }, { status: 400, json: { error: 'invalid_limit' } });
  await healthy(t, server);
});

t.test('cross-origin reads are for media only; every response is nosniff; pages carry a CSP', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const s = await createSession(server.url);
  const status = await fetch(`${server.url}/stream_sessions/${s.session_id}`, { headers: { Origin: 'https://evil.example' } });
  t.equal(status.headers.get('access-control-allow-origin'), null, 'the API grants no other origin a read');
  t.equal(status.headers.get('x-content-type-options'), 'nosniff');
  const preflight = await fetch(endUrl(server, s), {
    method: 'OPTIONS',
    headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
  });
  t.equal(preflight.headers.get('access-control-allow-origin'), null, 'no preflight lets another site end a session');
  const playlist = await fetch(s.playlist_url, { headers: { Origin: 'https://player.example' } });
  t.equal(playlist.headers.get('access-control-allow-origin'), '*', 'any HLS player on any page may play the stream');
  const mediaPreflight = await fetch(s.playlist_url, { method: 'OPTIONS', headers: { Origin: 'https://player.example' } });
  t.equal(mediaPreflight.headers.get('access-control-allow-origin'), '*');
  for (const path of ['/', '/capture', `/watch/${s.session_id}`]) {
    const page = await fetch(`${server.url}${path}`);
    const csp = page.headers.get('content-security-policy') ?? '';
    t.match(csp, /frame-ancestors 'self'/, `${path}: no framing by other sites`);
    t.match(csp, /script-src 'self'/, `${path}: scripts from this server only`);
    t.equal(page.headers.get('x-content-type-options'), 'nosniff');
  }
  const upload = s.upload.type === 'http' ? s.upload.url_template.replace('{file}', 'chunk_00000.mp4') : '';
  const put = await fetch(upload, {
    method: 'PUT',
    headers: { Origin: 'https://evil.example', ...bearer(s.upload.type === 'http' ? s.upload.token : '') },
    body: fakeChunk(0),
  });
  t.match(
    { status: put.status, json: await put.json() },
    { status: 403, json: { error: 'origin_refused' } },
    'no upload from a page of another site',
  );
  await healthy(t, server);
});

t.test('with ADMIN_TOKEN, /metrics needs it', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { ADMIN_TOKEN: ADMIN } });
  const open = await fetch(`${server.url}/metrics`);
  t.match(
    { status: open.status, json: await open.json() },
    { status: 401, json: { error: 'unauthorized', message: /\/metrics needs the admin token/ } },
  );
  const ok = await fetch(`${server.url}/metrics`, { headers: bearer(ADMIN) });
  t.equal(ok.status, 200);
  t.match(await ok.text(), /stereospot_/);
  await healthy(t, server);
});

t.test('a Host header that is not a host never reaches a link', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const port = new URL(server.url).port;
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/stream_sessions',
        headers: { Host: 'evil.example/"#x', 'Content-Type': 'application/json' },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
  t.equal(answer.status, 400);
  t.match(JSON.parse(answer.body), { error: 'invalid_host', field: 'host' });
  await healthy(t, server);
});

t.test('the capture client ends its session with its control token on a server with ADMIN_TOKEN', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { ADMIN_TOKEN: ADMIN } });
  const s = await createSession(server.url);
  const { endSession } = await import('../../capture-client/api.ts');
  await endSession(server.url, s.session_id, s.control_token, 0);
  const status = (await (await fetch(`${server.url}/stream_sessions/${s.session_id}`)).json()) as { state: string };
  t.equal(status.state, 'ended');
  t.equal((await postJson(`${server.url}/stream_sessions/${s.session_id}/end`, {})).status, 401, 'while anyone else still may not');
});

/** A PUT of `total` bytes that sends only `sent` of them (an MP4 header first), until `finish` or `abort`. */
function halfUpload(s: CreateSessionResponse, index: number, total: number, sent: number) {
  if (s.upload.type !== 'http') throw new Error('expected an http upload target');
  const url = new URL(s.upload.url_template.replace('{file}', `chunk_${String(index).padStart(5, '0')}.mp4`));
  const head = fakeChunk(index);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'PUT',
    headers: { Authorization: `Bearer ${s.upload.token}`, 'Content-Length': String(total) },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
  });
  req.write(head);
  req.write(Buffer.alloc(sent - head.length));
  return {
    answer,
    finish: () => req.end(Buffer.alloc(total - sent)),
    abort: () => req.destroy(),
  };
}

t.test('live sessions are capped per client address and in all, each refusal named and counted', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { MAX_SESSIONS_PER_CLIENT: '3', MAX_LIVE_SESSIONS: '4' } });
  const mine = [await createSession(server.url), await createSession(server.url), await createSession(server.url)];
  const refused = await fetch(`${server.url}/stream_sessions`, { method: 'POST', body: '{}' });
  t.equal(refused.status, 429);
  t.equal(refused.headers.get('retry-after'), '30');
  t.match(await refused.json(), { error: 'too_many_sessions', message: /MAX_SESSIONS_PER_CLIENT/ });
  await healthy(t, server);
  t.equal((await post(endUrl(server, mine[0]!), {})).status, 204);
  await until(
    async () => (await fetch(`${server.url}/stream_sessions`, { method: 'POST', body: '{}' })).status === 200,
    'an ended session frees its share',
  );
  // A burst at once: creates in flight count, so no more than the cap get through together.
  const burst = await startTestServer(t, { pool: new FakePool(), env: { MAX_SESSIONS_PER_CLIENT: '3' } });
  const statuses = await Promise.all(
    Array.from({ length: 12 }, () => fetch(`${burst.url}/stream_sessions`, { method: 'POST', body: '{}' }).then((r) => r.status)),
  );
  t.same(statuses.filter((s) => s === 200).length, 3, `three of twelve parallel creates admitted (${statuses.join(' ')})`);
  t.same(statuses.filter((s) => s === 429).length, 9);
  // Behind a proxy every request comes from its address: with TRUST_PROXY the client is the one it names.
  const behindProxy = await startTestServer(t, {
    pool: new FakePool(),
    env: { MAX_SESSIONS_PER_CLIENT: '1', MAX_LIVE_SESSIONS: '2', TRUST_PROXY: 'true' },
  });
  const from = (address: string) =>
    fetch(`${behindProxy.url}/stream_sessions`, { method: 'POST', body: '{}', headers: { 'X-Forwarded-For': `10.9.9.9, ${address}` } });
  t.equal((await from('198.51.100.1')).status, 200);
  t.equal((await from('198.51.100.1')).status, 429, 'the address the proxy appended is the client');
  t.equal((await from('198.51.100.2')).status, 200, 'another client has its own share');
  const full = await from('198.51.100.3');
  t.equal(full.status, 503);
  t.match(await full.json(), { error: 'too_many_sessions', message: /MAX_LIVE_SESSIONS/ });
  const metrics = await (await fetch(`${behindProxy.url}/metrics`)).text();
  t.match(metrics, /stereospot_requests_refused_total\{reason="sessions_per_client"\} 1/);
  t.match(metrics, /stereospot_requests_refused_total\{reason="sessions_total"\} 1/);
  await healthy(t, behindProxy);
});

t.test('uploads are streamed to storage and capped per session and in all', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { MAX_UPLOADS_PER_SESSION: '1', MAX_UPLOADS: '2' } });
  const [a, b, c] = [await createSession(server.url), await createSession(server.url), await createSession(server.url)];
  const MiB = 1024 * 1024;
  const first = halfUpload(a, 0, 24 * MiB, 12 * MiB);
  // Streamed, not buffered: what was sent is already on disk, beside where the chunk will appear.
  const dir = path.join(server.dataDir, 'objects', 'stream_input', a.session_id);
  const partial = await until(async () => {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) if ((await stat(path.join(dir, name))).size >= 11 * MiB) return name;
    return undefined;
  }, 'the first 11 MiB written to storage while the upload goes on');
  t.match(partial, /^chunk_00000\.mp4\.tmp-/, 'under a temporary name: the chunk appears only when complete');
  const again = await putChunk(a, 1, fakeChunk(1));
  t.match(
    again,
    { status: 429, json: { error: 'too_many_uploads', message: /MAX_UPLOADS_PER_SESSION/ } },
    'a second upload of the same session at once',
  );
  const second = halfUpload(b, 0, 4 * MiB, 2 * MiB);
  await until(
    async () => (await readdir(path.join(server.dataDir, 'objects', 'stream_input', b.session_id)).catch(() => [])).length > 0,
    "b's upload under way",
  );
  t.match(
    await putChunk(c, 0, fakeChunk(0)),
    { status: 503, json: { error: 'too_many_uploads', message: /MAX_UPLOADS/ } },
    'a third upload on the server at once',
  );
  await healthy(t, server);
  first.abort();
  await until(async () => (await readdir(dir)).length === 0, 'an abandoned upload leaves nothing behind');
  second.finish();
  t.match(await second.answer, { status: 201 });
  t.equal((await putChunk(c, 0, fakeChunk(0))).status, 201, 'slots free again once uploads end either way');
  t.equal((await putChunk(a, 1, fakeChunk(1))).status, 201);
  t.match(await (await fetch(`${server.url}/metrics`)).text(), /stereospot_requests_refused_total\{reason="uploads_per_session"\} 1/);
});

t.test("an ended session's files are deleted after DATA_RETAIN_SECONDS; a live one's are kept", async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { DATA_RETAIN_SECONDS: '1', SESSION_RETAIN_SECONDS: '1' } });
  const ended = await createSession(server.url);
  const live = await createSession(server.url);
  for (const s of [ended, live]) t.equal((await putChunk(s, 0, fakeChunk(0))).status, 201);
  const files = (s: CreateSessionResponse) =>
    Promise.all(
      ['stream_input', 'stream_output'].map((p) =>
        readdir(path.join(server.dataDir, 'objects', p, s.session_id)).catch(() => [] as string[]),
      ),
    ).then((l) => l.flat());
  await until(
    async () => (await files(ended)).some((n) => n.startsWith('seg_')) && (await files(live)).some((n) => n.startsWith('seg_')),
    'both converted',
  );
  t.equal((await post(endUrl(server, ended), { chunks: 1 })).status, 204);
  await until(async () => (await files(ended)).length === 0, 'the ended session’s chunks and segments deleted');
  await until(
    async () => (await fetch(`${server.url}/stream_sessions/${ended.session_id}`)).status === 404,
    'and its record: the session is gone',
  );
  t.ok((await files(live)).length >= 2, 'the live session keeps its chunk and segment, however old');
  t.equal((await fetch(`${server.url}/stream_sessions/${live.session_id}`)).status, 200);
  t.match(await (await fetch(`${server.url}/metrics`)).text(), /stereospot_sessions_removed_total 1/);
  await healthy(t, server);
});

t.test('a control token can be rotated: every earlier one stops working at once, its sockets closed', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { ADMIN_TOKEN: ADMIN } });
  const s = await createSession(server.url);
  const rotateUrl = `${server.url}/stream_sessions/${s.session_id}/control_token`;
  const { openSocket } = await import('../../testkit/ws.ts');
  const old = await openSocket(t, s.events_url, s.control_token);
  await old.next((m) => m.type === 'snapshot', 'a control socket with the first token');
  t.match(await post(rotateUrl, {}), { status: 401, json: { error: 'unauthorized' } }, 'nobody rotates without the current token');
  const rotated = await post(rotateUrl, {}, bearer(s.control_token));
  t.equal(rotated.status, 200);
  const fresh = (rotated.json as unknown as { control_token: string }).control_token;
  t.not(fresh, s.control_token);
  t.match(
    await old.closed,
    { code: 4401, reason: 'the control token was rotated' },
    'the socket holding the old token loses control at once',
  );
  t.match(
    await post(endUrl(server, s), {}, bearer(s.control_token)),
    { status: 401, json: { error: 'token_revoked' } },
    'the old token ends nothing',
  );
  t.match(await post(rotateUrl, {}, bearer(s.control_token)), { status: 401, json: { error: 'token_revoked' } }, 'nor rotates again');
  const again = await openSocket(t, s.events_url, fresh);
  await again.next((m) => m.type === 'snapshot', 'the new token opens a control socket');
  again.send({ type: 'set_settings', stereo_strength: 0.05 }, 'json');
  await again.next((m) => m.type === 'settings', 'and changes the settings');
  await healthy(t, server);
  t.equal((await post(endUrl(server, s), {}, bearer(fresh))).status, 204, 'and ends the session');
  t.match(await post(rotateUrl, {}, bearer(fresh)), { status: 409, json: { error: 'session_ended' } });
});

t.test('rotation is authorised on an open server too (only ending is open there)', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const s = await createSession(server.url);
  const rotateUrl = `${server.url}/stream_sessions/${s.session_id}/control_token`;
  t.match(await post(rotateUrl, {}), { status: 401, json: { error: 'unauthorized' } });
  t.equal((await post(rotateUrl, {}, bearer(s.control_token))).status, 200);
});
