import t from 'tap';
import WebSocket from 'ws';
import { chunkKey } from '../../protocol/keys.ts';
import {
  CloseCode,
  socketProtocols,
  type CreateSessionResponse,
  type SessionEventMessage,
  type SessionsSnapshotMessage,
} from '../../protocol/messages.ts';
import { FakePool, fakeChunk } from '../../testkit/fake-pool.ts';
import { createSession, getText, postJson, putChunk } from '../../testkit/http.ts';
import { startTestServer, until } from '../../testkit/server.ts';
import { openSocket } from '../../testkit/ws.ts';

t.test('a session socket gets a snapshot, then chunk, segment, playlist and ended messages', async (t) => {
  const pool = new FakePool();
  const server = await startTestServer(t, { pool });
  const s = await createSession(server.url);
  const sock = await openSocket(t, s.events_url);
  const snap = await sock.next((m) => m.type === 'snapshot', 'snapshot');
  t.equal(snap.type === 'snapshot' && snap.session.state, 'live');
  await putChunk(s, 0, fakeChunk(0));
  const seg = await sock.next((m) => m.type === 'segment', 'segment');
  t.equal(seg.type === 'segment' && seg.index, 0);
  await sock.next((m) => m.type === 'playlist' && m.listed === 1, 'playlist listed 1');
  t.ok(
    sock.messages.some((m) => m.type === 'chunk' && m.chunk.status === 'processing'),
    'chunk status pushed',
  );
  await fetch(`${server.url}/stream_sessions/${s.session_id}/end`, { method: 'POST', body: '{"chunks":1}' });
  const ended = await sock.next((m) => m.type === 'ended', 'ended');
  t.same(ended, { type: 'ended', session_id: s.session_id, reason: 'requested', ready: 1, failed: 0 });
});

t.test('?format=json gives JSON text frames; ping answers pong', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const s = await createSession(server.url);
  const sock = await openSocket(t, `${s.events_url}?format=json`);
  await sock.next((m) => m.type === 'snapshot', 'snapshot');
  sock.send({ type: 'ping', t: 42 }, 'json');
  const pong = await sock.next((m) => m.type === 'pong', 'pong');
  t.same(pong, { type: 'pong', t: 42 });
});

t.test('chunk_uploaded needs the control token and is deduplicated against the queue event', async (t) => {
  const pool = new FakePool();
  const server = await startTestServer(t, { pool });
  const s = await createSession(server.url);
  const viewer = await openSocket(t, s.events_url);
  await viewer.next((m) => m.type === 'snapshot', 'snapshot');
  viewer.send({ type: 'chunk_uploaded', index: 0, key: chunkKey(s.session_id, 0), bytes: 1 });
  t.equal((await viewer.closed).code, CloseCode.Unauthorized, 'a viewer may not announce chunks');

  const control = await openSocket(t, s.events_url, s.control_token);
  await control.next((m) => m.type === 'snapshot', 'snapshot');
  control.send({ type: 'chunk_uploaded', index: 5, key: chunkKey(s.session_id, 5), bytes: 10 });
  const missing = await control.next((m) => m.type === 'error', 'error for a chunk that was never uploaded');
  t.equal(missing.type === 'error' && missing.code, 'chunk_not_found');

  await putChunk(s, 0, fakeChunk(0));
  control.send({ type: 'chunk_uploaded', index: 0, key: chunkKey(s.session_id, 0), bytes: fakeChunk(0).length });
  control.send({ type: 'chunk_uploaded', index: 0, key: chunkKey(s.session_id, 0), bytes: fakeChunk(0).length });
  await control.next((m) => m.type === 'segment' && m.index === 0, 'segment 0');
  await fetch(`${server.url}/stream_sessions/${s.session_id}/end`, { method: 'POST', body: '{"chunks":1}' });
  await control.next((m) => m.type === 'ended', 'ended');
  t.same(pool.started, [0], 'processed exactly once');

  const bad = await openSocket(t, s.events_url, s.control_token);
  bad.ws.send(Buffer.from([0xc1, 0xc1, 0xc1]));
  t.equal((await bad.closed).code, CloseCode.BadMessage, 'garbage frames close the socket with 4400');
});

t.test('socket upgrades are refused for bad ids, unknown sessions, wrong tokens, tokens in the URL and other origins', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const a = await createSession(server.url);
  const b = await createSession(server.url);
  const ws = server.url.replace('http', 'ws');
  /** The upgrade's status (101 when it opened), its JSON error body and the protocol it was answered with. */
  const attempt = (url: string, options: { token?: string; headers?: Record<string, string> } = {}) =>
    new Promise<{ status: number; error?: string; protocol?: string }>((resolve) => {
      const sock = new WebSocket(url, socketProtocols(options.token), { headers: options.headers });
      sock.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, error: (JSON.parse(body) as { error: string }).error }));
      });
      sock.on('open', () => {
        sock.close();
        resolve({ status: 101, protocol: sock.protocol });
      });
      sock.on('error', () => {});
    });
  t.match(await attempt(`${ws}/ws/sessions/bad.id`), { status: 400, error: 'invalid_session_id' });
  t.match(await attempt(`${ws}/ws/sessions/unknown`), { status: 404, error: 'session_not_found' });
  t.match(
    await attempt(a.events_url, { token: b.control_token }),
    { status: 401, error: 'token_wrong_session' },
    "another session's control token",
  );
  t.match(await attempt(a.events_url, { token: 'not-a-token' }), { status: 401, error: 'token_malformed' });
  t.match(
    await attempt(`${a.events_url}?token=${encodeURIComponent(a.control_token)}`),
    { status: 400, error: 'token_in_url' },
    'a token in the URL (proxy logs) is refused',
  );
  t.same(
    await attempt(a.events_url, { token: a.control_token }),
    { status: 101, protocol: 'stereospot' },
    'the token as a subprotocol: answered with ours alone, never the token',
  );
  t.match(await attempt(a.events_url, { headers: { Authorization: `Bearer ${a.control_token}` } }), { status: 101 }, 'or in Authorization');
  t.match(
    await attempt(a.events_url, { headers: { Origin: 'https://evil.example' } }),
    { status: 403, error: 'origin_refused' },
    'a page of another site gets no socket',
  );
  t.match(await attempt(`${ws}/ws/events`, { headers: { Origin: 'https://evil.example' } }), { status: 403, error: 'origin_refused' });
  t.match(await attempt(`${ws}/ws/events`, { headers: { Origin: server.url } }), { status: 101 }, 'our own pages may');
  t.match(await attempt(`${ws}/ws/events`), { status: 101 }, 'open without ADMIN_TOKEN (loopback only)');
});

t.test('the dashboard socket sees every session', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const before = await createSession(server.url);
  const dash = await openSocket(t, `${server.url.replace('http', 'ws')}/ws/events?format=json`);
  const snapshot = (await dash.next(
    (m) => (m as { type: string }).type === 'sessions',
    'sessions snapshot',
  )) as unknown as SessionsSnapshotMessage;
  t.same(
    snapshot.sessions.map((x) => x.session_id),
    [before.session_id],
    'the snapshot lists the existing session',
  );
  t.equal(snapshot.pool.threads, 2, 'and the pool');
  const s = await createSession(server.url);
  const msg = (await dash.next((m) => (m as { type: string }).type === 'session', 'session event')) as unknown as SessionEventMessage;
  t.equal(msg.session_id, s.session_id);
  t.same([msg.state, msg.uploaded, msg.settings], ['live', 0, { stereo_strength: 0.03, convergence: 0 }]);
  await putChunk(s, 0, fakeChunk(0));
  const ready = (await dash.next((m) => {
    const e = m as unknown as SessionEventMessage;
    return e.type === 'session' && e.ready === 1;
  }, 'chunk ready on the dashboard')) as unknown as SessionEventMessage;
  t.equal(ready.chunks[0]?.status, 'ready');
  t.type(ready.chunks[0]?.latency_ms, 'number', 'a ready chunk has a latency');
  await dash.next((m) => (m as { type: string }).type === 'pool', 'the pool load each second');
});

t.test('upload rights expire and are refreshed over the control socket before they do', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { UPLOAD_TOKEN_SECONDS: '2' } });
  const s = await createSession(server.url);
  const control = await openSocket(t, s.events_url, s.control_token);
  const refresh = await control.next((m) => m.type === 'credentials', 'credentials refresh', 10_000);
  if (refresh.type !== 'credentials' || refresh.upload.type !== 'http') throw new Error('expected http credentials');
  t.not(refresh.upload.token, s.upload.session_token, 'a new token');
  t.ok(Date.parse(refresh.upload.expires_at) > Date.parse(s.upload.expires_at), 'a later expiry');
  // Wait until the original token has expired, then check both.
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(s.upload.expires_at) - Date.now() + 50)));
  const old = await putChunk(s, 0, fakeChunk(0));
  t.equal(old.status, 403);
  t.equal(old.json.error, 'token_expired');
  t.equal((await putChunk(s, 0, fakeChunk(0), refresh.upload.token)).status, 201);
  t.type(refresh.control_token, 'string', 'and a fresh control token (a stream may outlive the first)');
  t.not(refresh.control_token, s.control_token);
  const later = await openSocket(t, s.events_url, refresh.control_token);
  await later.next((m) => m.type === 'snapshot', 'the fresh control token opens a control socket');
});

t.test('stereo settings: chosen at creation, changed live with the control token, used by later chunks, persisted', async (t) => {
  const pool = new FakePool(1);
  const first = await startTestServer(t, { pool });
  const bad = await postJson(`${first.url}/stream_sessions`, { stereo_strength: 0.5 });
  t.equal(bad.status, 400);
  t.same(bad.json, {
    error: 'invalid_stereo_strength',
    message: 'stereo_strength must be a number from 0 to 0.1',
    field: 'stereo_strength',
  });
  t.equal((await postJson(`${first.url}/stream_sessions`, { convergence: '0.5' })).status, 400, 'a string is not a number');
  const created = await postJson(`${first.url}/stream_sessions`, { stereo_strength: 0.05, convergence: 0.2 });
  const s = created.json as CreateSessionResponse;
  t.same(s.settings, { stereo_strength: 0.05, convergence: 0.2 }, 'the response carries the chosen settings');

  await putChunk(s, 0, fakeChunk(0));
  await until(() => pool.settings.has(0), 'chunk 0 converted');
  t.same(pool.settings.get(0), { strength: 0.05, convergence: 0.2 }, 'chunk 0 uses the creation settings');

  const viewer = await openSocket(t, s.events_url);
  await viewer.next((m) => m.type === 'snapshot', 'viewer snapshot');
  const control = await openSocket(t, s.events_url, s.control_token);
  await control.next((m) => m.type === 'snapshot', 'control snapshot');
  control.send({ type: 'set_settings', convergence: 2 });
  const refused = await control.next((m) => m.type === 'error', 'error for an out-of-range setting');
  t.equal(refused.type === 'error' && refused.code, 'invalid_convergence');
  control.send({ type: 'set_settings', stereo_strength: 0.08 });
  const pushed = await viewer.next((m) => m.type === 'settings', 'settings pushed to every subscriber');
  t.same(pushed, { type: 'settings', session_id: s.session_id, stereo_strength: 0.08, convergence: 0.2, mode: 'sbs' });

  await putChunk(s, 1, fakeChunk(1));
  await until(() => pool.settings.has(1), 'chunk 1 converted');
  t.same(pool.settings.get(1), { strength: 0.08, convergence: 0.2 }, 'a later chunk uses the new strength');

  viewer.send({ type: 'set_settings', stereo_strength: 0.01 });
  t.equal((await viewer.closed).code, CloseCode.Unauthorized, 'a viewer may not change the settings');

  await first.close();
  const second = await startTestServer(t, { pool: new FakePool(1), dataDir: first.dataDir });
  const status = await getText(`${second.url}/stream_sessions/${s.session_id}`);
  t.same(JSON.parse(status.text).settings, { stereo_strength: 0.08, convergence: 0.2 }, 'the settings survive a restart');
});
