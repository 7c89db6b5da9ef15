/**
 * Stopping the capture CLI: one stop delivered twice at once — to the whole process group and
 * forwarded by a parent, as `npm run demo`, systemd's control-group stop and `timeout` deliver it — still
 * ends the session cleanly (what was captured is uploaded, the playlist closes), rather than counting
 * as "Ctrl-C again: quit now".
 */
import t from 'tap';
import { startCapture } from '../testkit/capture.ts';
import { getText } from '../testkit/http.ts';
import { startTestServer } from '../testkit/server.ts';

t.test('SIGTERM and SIGINT at once are one stop: the session ends cleanly', async (t) => {
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu' } });
  const capture = startCapture([
    '--server',
    server.url,
    '--size',
    '320x180',
    '--duration',
    '30',
    '--chunk-seconds',
    '0.5',
    '--json',
    '--quiet',
  ]);
  t.teardown(() => capture.stop('SIGKILL'));
  const session = await capture.event('session');
  await capture.event('uploaded');
  capture.stop('SIGTERM', 'SIGINT');
  t.equal(await capture.exited, 0, `the client exits 0 (${capture.stderr().trim().slice(-300)})`);
  const summary = capture.events.find((e) => e.event === 'summary') as Record<string, unknown> | undefined;
  t.match(summary, { closed: true, failed: 0, error: null }, 'its summary: the session closed, nothing failed');
  t.ok(
    summary && Number(summary.chunks) >= 1 && summary.uploaded === summary.chunks && summary.ready === summary.chunks,
    `every chunk cut was uploaded and converted (${JSON.stringify(summary)})`,
  );
  const playlist = await getText(String(session.playlist_url));
  t.match(playlist.text, /#EXT-X-ENDLIST/, 'and the playlist is closed');
});
