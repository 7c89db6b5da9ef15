/**
 * Per-session watchers (what held playlist reloads wait on): a watcher hears its own session's changes,
 * after the global listeners, and nothing of any other session; unwatching leaves nothing behind.
 */
import t from 'tap';
import { FakePool, fakeChunk } from '../../testkit/fake-pool.ts';
import { createSession, getText, putChunk } from '../../testkit/http.ts';
import { startTestServer, until } from '../../testkit/server.ts';

t.test("a session's watchers hear its changes only, after the listeners of every session", async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const a = await createSession(server.url);
  const b = await createSession(server.url);
  const heard: string[] = [];
  const stopListening = server.sessions.subscribe((id) => heard.push(`all:${id === a.session_id ? 'a' : 'b'}`));
  const unwatch = server.sessions.watch(a.session_id, (id) => heard.push(`watch:${id === a.session_id ? 'a' : 'b'}`));
  t.teardown(stopListening);
  const ready = async (id: string) => JSON.parse((await getText(`${server.url}/stream_sessions/${id}`)).text).ready as number;

  t.equal((await putChunk(b, 0, fakeChunk(0))).status, 201);
  await until(async () => (await ready(b.session_id)) === 1, "session b's segment");
  t.ok(heard.includes('all:b'), 'the listeners of every session heard b');
  t.notOk(heard.includes('watch:b'), "a watcher of session a hears nothing of b's changes");

  t.equal((await putChunk(a, 0, fakeChunk(0))).status, 201);
  await until(() => heard.includes('watch:a'), "session a's change");
  const first = heard.indexOf('watch:a');
  t.equal(heard[first - 1], 'all:a', 'the global listeners hear it first');

  unwatch();
  const count = heard.filter((h) => h === 'watch:a').length;
  const before = heard.filter((h) => h === 'all:a').length;
  t.equal((await putChunk(a, 1, fakeChunk(1))).status, 201);
  await until(async () => (await ready(a.session_id)) === 2, "session a's second segment");
  t.ok(heard.filter((h) => h === 'all:a').length > before, 'the listeners heard it');
  t.equal(heard.filter((h) => h === 'watch:a').length, count, 'an unwatched listener hears no more');
});
