/**
 * The capture page publishes the live path from the browser (issue 22, scope 1): headless Chromium's
 * fake camera, encoded frame by frame with WebCodecs (H.264 Annex B, Opus), over /ws/live/{id} beside
 * the chunks it records as always; a viewer gets the converted stream — twice the width, from a
 * keyframe, every unit decodable, on capture times from the wall clock — and the page's sound passed
 * through as Opus. The page shows what it sent.
 */
import t from 'tap';
import { LiveDecoder } from '../gpu-pool/live-codec.ts';
import { LiveKind, parseLiveFrame } from '../protocol/live.ts';
import { launchChromium } from '../testkit/browser.ts';
import { FakePool } from '../testkit/fake-pool.ts';
import { liveSocket } from '../testkit/live-stream.ts';
import { startTestServer, until } from '../testkit/server.ts';

interface PageStats {
  state: string;
  sessionId: string | null;
  problem: string | null;
  chunks: Array<{ state: string; bytes?: number }>;
  live: { state: string; sent: number; dropped: number; encoderDropped: number } | null;
}

t.test('the capture page sends its live stream frame by frame; a viewer sees it converted', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { CHUNK_SECONDS: '1' } });
  const browser = await launchChromium({ media: 'granted' });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/capture`);
  await page.selectOption('#source', 'camera');
  t.ok(await page.isChecked('#live'), 'the live path is on by default');
  await page.click('#start');
  const stats = () => page.evaluate('window.stereospot') as Promise<PageStats>;
  const { sessionId } = await until(async () => {
    const s = await stats();
    if (s.state === 'error' || s.state === 'denied') throw new Error(`capture failed: ${s.problem}`);
    return s.sessionId !== null && s;
  }, 'the session');
  const viewer = await liveSocket(`${server.url.replace('http', 'ws')}/ws/live/${sessionId}`);
  t.teardown(() => viewer.ws.close());
  await until(() => viewer.video().length >= 30, 'converted frames from the page at the viewer', 60_000).catch((error: unknown) => {
    t.comment(JSON.stringify(viewer.texts));
    throw error;
  });

  const config = viewer.texts.find((m) => m.type === 'live_config');
  t.match(config, { video: { codec: /^avc1\./ }, audio: { codec: 'opus' } }, 'H.264 converted, the sound as Opus');
  const frames = viewer.video();
  t.ok(frames[0]!.key, 'from a keyframe');
  const decoder = new LiveDecoder();
  t.teardown(() => decoder.close());
  const sizes = new Set<string>();
  for (const f of frames) decoder.decode(f.data, f.time, (picture) => sizes.add(`${picture.width}x${picture.height}`));
  t.ok(sizes.size === 1, `one size: ${[...sizes].join(', ')}`);
  const [width, height] = [...sizes][0]!.split('x').map(Number) as [number, number];
  t.ok(config?.type === 'live_config' && width === config.video.width && height === config.video.height, 'as configured');
  t.ok(width / height > 2.5, `side by side: ${width}×${height}, twice the width of a 4:3 or 16:9 picture`);
  const now = Date.now() * 1000;
  const newest = frames.at(-1)!.time;
  t.ok(Math.abs(now - newest) < 5_000_000, `capture times on the wall clock (newest ${((now - newest) / 1e6).toFixed(2)} s ago)`);
  t.ok(
    viewer.frames.some((b) => {
      const c = parseLiveFrame(b);
      return c.ok && c.frame.kind === LiveKind.Audio;
    }),
    'the sound comes too',
  );
  const live = await until(async () => {
    const s = await stats();
    return (s.live?.sent ?? 0) > 30 && s.live;
  }, 'the page counting what it sent');
  t.equal(live?.state, 'open');
  t.match(await page.textContent('#live-state'), /live path open · \d+ frames sent/);

  await page.click('#stop');
  await until(async () => (await stats()).state === 'ended', 'the session to end cleanly', 60_000);
  const chunks = (await stats()).chunks;
  t.ok(chunks.length >= 1 && chunks.every((c) => c.bytes !== undefined), `and the chunks went up as always (${chunks.length})`);
  t.same(errors, [], 'no page errors');
});
