/**
 * The session list pages newest first with a cursor: every session exactly once across the pages
 * (sessions created in the same millisecond included), the last page says so, a bad cursor is a 400.
 */
import t from 'tap';
import type { SessionListResponse } from '../../protocol/messages.ts';
import { FakePool } from '../../testkit/fake-pool.ts';
import { createSession, getText } from '../../testkit/http.ts';
import { startTestServer } from '../../testkit/server.ts';

t.test('pages of the session list hold every session once, newest first', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  // Created at once: several share a millisecond, and the order must still be total.
  const ids = (await Promise.all(Array.from({ length: 7 }, () => createSession(server.url)))).map((s) => s.session_id);
  const pages: SessionListResponse[] = [];
  let url = `${server.url}/stream_sessions?limit=3`;
  for (;;) {
    const answer = await getText(url);
    t.equal(answer.status, 200);
    const page = JSON.parse(answer.text) as SessionListResponse;
    pages.push(page);
    if (!page.next) break;
    url = `${server.url}/stream_sessions?limit=3&before=${encodeURIComponent(page.next)}`;
  }
  t.same(
    pages.map((p) => p.sessions.length),
    [3, 3, 1],
    'three pages',
  );
  t.equal(pages.at(-1)!.next, null, 'the last page says it is the last');
  const listed = pages.flatMap((p) => p.sessions);
  t.same([...listed.map((s) => s.session_id)].sort(), [...ids].sort(), 'every session exactly once');
  const created = listed.map((s) => Date.parse(s.created_at));
  t.same(
    created,
    [...created].sort((a, b) => b - a),
    'newest first',
  );

  const bad = await getText(`${server.url}/stream_sessions?before=yesterday`);
  t.equal(bad.status, 400);
  t.match(JSON.parse(bad.text), { error: 'invalid_cursor', field: 'before' });
});
