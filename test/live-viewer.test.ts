/**
 * The live path as a person watches it: the capture CLI's test source in real time → a real server (real
 * pool for the segments, a live converter for the frames) → the watch page in headless Chromium, which
 * plays frame by frame (WebCodecs into a canvas twice the source's width), shows the latency, counts its
 * drops — and, when the live path is cut, falls back to the segment player and keeps playing.
 */
import path from 'node:path';
import t from 'tap';
import type { Page } from 'playwright-core';
import { ARTIFACTS, launchChromium } from '../testkit/browser.ts';
import { rawPicture } from '../testkit/depth-gt.ts';
import { startCapture } from '../testkit/capture.ts';
import { startTestServer, until } from '../testkit/server.ts';

interface LiveView {
  player: string;
  fallback: string | null;
  state: string;
  latencies: number;
  lastLatency: number | null;
  presented: number;
  canvasWidth: number;
  canvasHeight: number;
  canvasHidden: boolean;
  latencyText: string | null;
  currentTime: number;
}

const READ = `(() => {
  const s = window.stereospot;
  const canvas = document.getElementById('live');
  return {
    player: s.player, fallback: s.fallback, state: s.state, latencies: s.latencies.length, lastLatency: s.latencies.at(-1) ?? null,
    presented: s.live ? s.live.presented : -1, canvasWidth: canvas.width, canvasHeight: canvas.height, canvasHidden: canvas.hidden,
    latencyText: document.getElementById('latency').textContent, currentTime: document.querySelector('video').currentTime,
  };
})()`;
const read = (page: Page) => page.evaluate(READ) as Promise<LiveView>;

t.test('the watch page plays the live path frame by frame, then falls back to segments when it is cut', async (t) => {
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu', CHUNK_SECONDS: '0.5', GPU_POOL_WORKERS: '1' } });
  // Long enough for a converter thread starting on a loaded machine; stopped at the end.
  const capture = startCapture(['--server', server.url, '--size', '320x180', '--duration', '120', '--json', '--quiet']);
  t.teardown(() => capture.stop());
  const session = await capture.event('session');
  await capture.event('uploaded'); // the capture runs (and publishes its live stream) by now
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/watch/${String(session.session_id)}`);
  const live = await until(
    async () => {
      const v = await read(page);
      return v.presented >= 30 && v;
    },
    'thirty frames presented by the live viewer',
    60_000,
  ).catch(async (error: unknown) => {
    t.comment(JSON.stringify(await read(page)));
    throw error;
  });
  t.equal(live.player, 'live', 'the live path');
  t.equal(live.canvasHidden, false, 'drawn into the live canvas');
  t.equal(live.canvasWidth, 640, 'side by side: twice the source width');
  t.equal(live.canvasHeight, 180);
  t.ok(
    live.latencies >= 30 && live.lastLatency !== null && live.lastLatency > 0,
    `a latency per frame (last ${Math.round(live.lastLatency ?? 0)} ms)`,
  );
  t.match(live.latencyText, /s behind capture/, 'shown on the page');
  // On screen, not only in the canvas: with the video hidden, the live canvas gives the stage its size
  // (it once sat in a stage of no height, drawn but invisible), and a screenshot shows the picture.
  const box = await page.locator('#live').boundingBox();
  t.ok(
    box && box.width >= 600 && Math.abs(box.height - (box.width * 180) / 640) <= 2,
    `the live canvas is on screen at the stream's aspect (${JSON.stringify(box)})`,
  );
  const shot = path.join(ARTIFACTS, 'watch-live.png');
  await page.locator('#stage').screenshot({ path: shot });
  const rgb = await rawPicture(shot, 'rgb24');
  const luma = Array.from({ length: rgb.length / 3 }, (_, i) => (rgb[3 * i]! + rgb[3 * i + 1]! + rgb[3 * i + 2]!) / 3);
  const mean = luma.reduce((a, b) => a + b, 0) / luma.length;
  const spread = Math.sqrt(luma.reduce((a, b) => a + (b - mean) ** 2, 0) / luma.length);
  t.ok(spread > 10, `and the screenshot shows the picture, not an empty stage (luma spread ${spread.toFixed(1)})`);
  // The eye views of the live path: one eye's size, frames still coming, then side by side again.
  for (const [view, width] of [
    ['anaglyph', 320],
    ['2d', 320],
    ['sbs', 640],
  ] as const) {
    await page.click(`#modes button[data-mode="${view}"]`);
    const from = (await read(page)).presented;
    const shown = await until(
      async () => {
        const v = await read(page);
        return v.canvasWidth === width && v.presented >= from + 10 && v;
      },
      `ten frames in the ${view} view`,
      30_000,
    );
    t.equal(shown.canvasHeight, 180, `${view}: ${width}×180, frames presented`);
  }
  // Cut the live path (the server stops it): the page plays the segments instead.
  await server.app.live!.close();
  const fallen = await until(
    async () => {
      const v = await read(page);
      return v.player !== 'live' && v.currentTime > 0.5 && v;
    },
    'the segment player to take over and play',
    30_000,
  );
  t.equal(fallen.player, 'mse', 'the WebSocket/MSE player took over');
  t.match(fallen.fallback, /live path ended/, 'saying why');
  t.equal(fallen.canvasHidden, true, 'the live canvas is gone');
  t.same(errors, [], 'no page errors');
});
