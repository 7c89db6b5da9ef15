/**
 * The output format changed live (issue 23: "per session, create and live set_settings"), through a
 * real server and pool: `set_settings {mode}` over the control socket reaches every subscriber (the
 * `settings` message names the new format), the session's status and VR playlist name follow, the
 * segments converted afterwards are in the new layout (decoded: their size), the playlist moves to
 * their new init; and the live path restarts its converter in the new format, its viewers told the new
 * configuration. A format that is no format is refused, naming the field.
 */
import t from 'tap';
import type { CreateSessionResponse, SessionStatus } from '../protocol/messages.ts';
import { getText, playlistEntries, postJson, putChunk } from '../testkit/http.ts';
import { liveSocket, liveStream, publishLive } from '../testkit/live-stream.ts';
import { mediaInfo, segmentWithInit, testPattern } from '../testkit/media.ts';
import { startTestServer, until } from '../testkit/server.ts';
import { openSocket } from '../testkit/ws.ts';

t.test('set_settings changes the output format of the next segments and of the live path', async (t) => {
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu', CHUNK_SECONDS: '0.5', GPU_POOL_WORKERS: '1' } });
  const s = (await postJson(`${server.url}/stream_sessions`, { mode: 'sbs' })).json as CreateSessionResponse;
  const chunks = await testPattern({ seconds: 2, chunkSeconds: 0.5, size: '320x180' });
  const status = async () => JSON.parse((await getText(`${server.url}/stream_sessions/${s.session_id}`)).text) as SessionStatus;

  // The live path runs: a viewer and a publisher.
  const liveUrl = `${server.url.replace('http', 'ws')}/ws/live/${s.session_id}`;
  const viewer = await liveSocket(liveUrl);
  t.teardown(() => viewer.ws.close());
  const publisher = await liveSocket(liveUrl, s.control_token);
  t.teardown(() => publisher.ws.close());
  const stream = await liveStream({ width: 320, height: 180, seconds: 2 });
  const configs = () => viewer.texts.flatMap((m) => (m.type === 'live_config' ? [m.video] : []));
  let publishing = publishLive(publisher, stream, () => configs().length >= 1 && viewer.video().length >= 5, 20);
  await until(() => configs().length >= 1 && viewer.video().length >= 5, 'the live path in side by side', 40_000);
  await publishing;
  t.match(configs()[0], { width: 640, height: 180 }, 'live: side by side');

  for (let i = 0; i < 2; i++) t.equal((await putChunk(s, i, chunks[i]!)).status, 201);
  await until(async () => (await status()).ready === 2, 'two segments in side by side', 30_000);

  const control = await openSocket(t, `${s.events_url}?format=json`, s.control_token);
  const listener = await openSocket(t, `${s.events_url}?format=json`);
  control.ws.send(JSON.stringify({ type: 'set_settings', mode: 'pyramid' }));
  await control.next((m) => m.type === 'error' && m.code === 'invalid_mode', 'a format that is none is refused');
  control.ws.send(JSON.stringify({ type: 'set_settings', mode: 'tb' }));
  const heard = await listener.next((m) => m.type === 'settings', 'the settings message at another subscriber');
  t.match(heard, { type: 'settings', mode: 'tb' }, 'every subscriber hears the new format');
  const now = await status();
  t.equal(now.mode, 'tb', 'the status says it');
  t.match(now.vr_playlist_url, /playlist_TB\.m3u8$/, 'and names the playlist for it');

  for (let i = 2; i < 4; i++) t.equal((await putChunk(s, i, chunks[i]!)).status, 201);
  await until(async () => (await status()).ready === 4, 'two segments in top-bottom', 30_000);
  const playlist = (await getText(s.playlist_url)).text;
  const segments = playlistEntries(playlist).filter((l) => l.includes('/seg_'));
  const sizes = [];
  for (const segment of segments) {
    const info = await mediaInfo(await segmentWithInit(playlist, segment));
    sizes.push(`${info.width}x${info.height}`);
  }
  t.same(sizes, ['640x180', '640x180', '320x360', '320x360'], 'the segments after the change are top-bottom');
  t.equal([...playlist.matchAll(/#EXT-X-MAP:/g)].length, 2, 'with an init of their own');

  publishing = publishLive(publisher, stream, () => configs().length >= 2 && viewer.video().length >= 10, 20);
  await until(() => configs().length >= 2, 'the live path configured again', 40_000);
  await publishing;
  t.match(configs()[1], { width: 320, height: 360 }, 'live: top-bottom from the new converter');
});
