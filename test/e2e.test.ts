/**
 * End to end, as a person runs it: the server (real pool, real ffmpeg) on port 0 and the capture
 * CLI streaming a generated 8-second clip in 2-second chunks.
 */
import t from 'tap';
import { runCapture } from '../testkit/capture.ts';
import { getText, playlistEntries } from '../testkit/http.ts';
import { decodeWarnings, mediaInfo, probeStreams } from '../testkit/media.ts';
import { FakePool } from '../testkit/fake-pool.ts';
import { startTestServer } from '../testkit/server.ts';

t.test('a generated 8-second clip streams through as 4 stereo segments with audio', async (t) => {
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu' } });
  const run = await runCapture([
    '--server',
    server.url,
    '--source',
    'test',
    '--size',
    '320x180',
    '--duration',
    '8',
    '--chunk-seconds',
    '2',
    '--no-realtime',
    '--json',
  ]);
  t.equal(run.code, 0, 'capture exits cleanly');
  if (run.code !== 0) t.comment(run.stderr.slice(-2000));
  const session = run.events.find((e) => e.event === 'session')!;
  t.ok(session, 'the session event carries the playlist URL');
  const playlistUrl = String(session.playlist_url);
  const uploaded = run.events.filter((e) => e.event === 'uploaded').map((e) => e.index);
  t.same(uploaded, [0, 1, 2, 3], 'uploaded strictly in order');
  t.match(
    run.events.find((e) => e.event === 'summary'),
    { chunks: 4, uploaded: 4, ready: 4, failed: 0, closed: true },
  );

  const playlist = await getText(playlistUrl);
  t.equal(playlist.status, 200);
  const entries = playlistEntries(playlist.text);
  t.equal(entries.length, 4, 'four segments');
  t.ok(playlist.text.trimEnd().endsWith('#EXT-X-ENDLIST'), 'then ENDLIST');
  t.notOk(entries.includes('GAP'));

  t.match(playlist.text, /#EXT-X-MAP:URI="[^"]+\/init_[0-9a-f]{16}\.mp4\?/, 'CMAF: one init segment');
  t.equal(await decodeWarnings(playlistUrl), '', 'ffmpeg decodes the whole playlist without a warning');
  const probe = await probeStreams(playlistUrl);
  t.equal(probe.stderr, '', 'ffprobe reads it without an error');
  t.same(probe.streams.map((s) => s.codec_name).sort(), ['aac', 'h264'], 'H.264 + AAC');
  const info = await mediaInfo(playlistUrl);
  t.equal(info.width, 640, 'side-by-side: twice the source width');
  t.equal(info.height, 180);
  t.ok(info.hasAudio, 'an audio stream is present');
  t.ok(Math.abs(info.duration - 8) < 0.3, `total duration ≈ 8 s (got ${info.duration})`);
});

t.test('anaglyph mode keeps the source width', async (t) => {
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu' } });
  const run = await runCapture([
    '--server',
    server.url,
    '--mode',
    'anaglyph',
    '--size',
    '320x180',
    '--duration',
    '2',
    '--no-realtime',
    '--json',
  ]);
  t.equal(run.code, 0);
  const playlistUrl = String(run.events.find((e) => e.event === 'session')!.playlist_url);
  const info = await mediaInfo(playlistUrl);
  t.equal(info.width, 320);
  t.ok(info.hasAudio);
});

t.test('a capture that cannot start leaves no session: a screen with no display to grab', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const run = await runCapture(['--server', server.url, '--source', 'screen', '--json', '--quiet'], { DISPLAY: '' });
  t.equal(run.code, 1, 'the client exits 1');
  t.match(run.stderr, /--source screen needs an X display/, 'naming what is missing');
  t.notOk(
    run.events.some((e) => e.event === 'session'),
    'before any session',
  );
  t.same(JSON.parse((await getText(`${server.url}/stream_sessions`)).text).sessions, [], 'and the server has none');
});
