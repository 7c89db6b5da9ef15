/**
 * The player's views and live depth in headless Debian Chromium against a real server and pool: each
 * view mode renders (a screenshot of each in test-artifacts/), the anaglyph takes red from the left eye
 * and green/blue from the right one, 2D shows the left eye; moving the strength slider (with the
 * control token) changes the disparity of the segments converted afterwards, measured by block
 * matching on decoded frames; a server that goes away mid-stream is shown, not thrown.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { ARTIFACTS, launchChromium } from '../testkit/browser.ts';
import { getText, playlistEntries, postJson, putChunk, createSession } from '../testkit/http.ts';
import { testPattern, segmentWithInit } from '../testkit/media.ts';
import { decodeGray } from '../testkit/media.ts';
import { meanDisparity } from '../gpu-pool/stereo-readback.ts';
import { FakePool } from '../testkit/fake-pool.ts';
import { startTestServer, until } from '../testkit/server.ts';
import type { CreateSessionResponse } from '../protocol/messages.ts';

/**
 * Mean absolute differences, per channel, between the view canvas and each eye of the video frame —
 * the eyes where `rects` (x, y, w, h as fractions) says, each resampled to the view's size.
 */
const compareIn = (rects: { left: number[]; right: number[] }) => `(() => {
  const video = document.querySelector('video');
  const view = document.getElementById('view');
  const w = view.width, h = view.height, vw = video.videoWidth, vh = video.videoHeight;
  const read = (source, r) => {
    const c = document.createElement('canvas'); c.width = w; c.height = h;
    const g = c.getContext('2d');
    if (r) g.drawImage(source, r[0] * vw, r[1] * vh, r[2] * vw, r[3] * vh, 0, 0, w, h); else g.drawImage(source, 0, 0);
    return g.getImageData(0, 0, w, h).data;
  };
  const left = read(video, ${JSON.stringify(rects.left)}), right = read(video, ${JSON.stringify(rects.right)}), shown = read(view, null);
  const diff = (a, b, c) => { let s = 0; for (let i = c; i < a.length; i += 4) s += Math.abs(a[i] - b[i]); return s / (a.length / 4); };
  return {
    eyes: [0, 1, 2].map((c) => diff(left, right, c)),
    left: [0, 1, 2].map((c) => diff(shown, left, c)),
    right: [0, 1, 2].map((c) => diff(shown, right, c)),
    renderer: window.stereospot.renderer,
    size: [w, h, vw, vh],
  };
})()`;

/** Side by side: the left half and the right. */
const SBS = compareIn({ left: [0, 0, 0.5, 1], right: [0.5, 0, 0.5, 1] });

interface Compare {
  eyes: number[];
  left: number[];
  right: number[];
  renderer: string;
}

async function mode(page: Page, name: string): Promise<void> {
  await page.click(`#modes button[data-mode="${name}"]`);
  await until(async () => (await page.evaluate('window.stereospot.view')) === name, `the ${name} view`, 5_000);
}

/**
 * On a paused side-by-side frame whose eyes differ: the anaglyph takes red from the left eye and green
 * and blue from the right, drawn by `renderer`; the 2D view shows the left eye.
 */
async function checkSbsViews(t: Test, page: Page, renderer: 'webgl' | '2d'): Promise<void> {
  await mode(page, 'anaglyph');
  const anaglyph = (await page.evaluate(SBS)) as Compare;
  t.equal(anaglyph.renderer, renderer, `drawn with ${renderer === 'webgl' ? 'WebGL' : 'the 2D canvas'}`);
  t.ok(anaglyph.eyes[1]! > 2, `the eyes differ on this frame (green ${anaglyph.eyes[1]!.toFixed(1)})`);
  t.ok(anaglyph.left[0]! < 3, `red comes from the left eye (${anaglyph.left[0]!.toFixed(2)})`);
  t.ok(
    anaglyph.right[1]! < 3 && anaglyph.right[2]! < 3,
    `green and blue from the right eye (${anaglyph.right[1]!.toFixed(2)}, ${anaglyph.right[2]!.toFixed(2)})`,
  );
  t.ok(anaglyph.left[1]! > anaglyph.right[1]! + 1, 'not from the left eye');
  await mode(page, '2d');
  const flat = (await page.evaluate(SBS)) as Compare;
  t.ok(
    flat.left.every((d) => d < 3),
    `2D shows the left eye (${flat.left.map((d) => d.toFixed(2)).join(', ')})`,
  );
}

t.test('each view renders; the strength slider changes the disparity of later segments', async (t) => {
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu', CHUNK_SECONDS: '0.5', GPU_POOL_WORKERS: '2' } });
  const chunks = await testPattern({ seconds: 5, chunkSeconds: 0.5, size: '320x180' });
  t.equal(chunks.length, 10);
  const created = await postJson(`${server.url}/stream_sessions`, { stereo_strength: 0 });
  const s = created.json as CreateSessionResponse;
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 960, height: 540 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/watch/${s.session_id}#control=${encodeURIComponent(s.control_token)}`);
  await page.waitForSelector('#setting-stereo_strength:not([disabled])', { timeout: 10_000 });

  for (let i = 0; i < 5; i++) t.equal((await putChunk(s, i, chunks[i]!)).status, 201);
  await until(async () => ((await page.evaluate('document.querySelector("video").currentTime')) as number) > 0.2, 'playback', 30_000);
  // A change applies to chunks dispatched after it: the first five are converted before it (on a loaded
  // machine they may still wait for a worker when playback starts).
  await until(
    async () => JSON.parse((await getText(`${server.url}/stream_sessions/${s.session_id}`)).text).ready === 5,
    'the first five converted',
    60_000,
  );

  // Live depth: the slider sends set_settings over the control socket; every subscriber hears it.
  await page.fill('#setting-stereo_strength', '0.04');
  await until(
    async () => ((await page.evaluate('window.stereospot.settings')) as { stereo_strength: number }).stereo_strength === 0.04,
    'the new strength',
    10_000,
  );
  t.same(
    JSON.parse((await getText(`${server.url}/stream_sessions/${s.session_id}`)).text).settings,
    { stereo_strength: 0.04, convergence: 0 },
    'the session has it',
  );
  for (let i = 5; i < 10; i++) t.equal((await putChunk(s, i, chunks[i]!)).status, 201);
  t.equal((await postJson(`${server.url}/stream_sessions/${s.session_id}/end`, { chunks: 10 })).status, 204);
  await until(
    async () =>
      (await page.evaluate('window.stereospot.state')) === 'ended' ||
      ((await page.evaluate('document.querySelector("video").currentTime')) as number) > 3.2,
    'playback into the later segments',
    30_000,
  );

  // Each view, on one paused frame from a segment with depth.
  await page.evaluate('document.querySelector("video").pause()');
  await mkdir(ARTIFACTS, { recursive: true });
  for (const name of ['sbs', 'anaglyph', '2d']) {
    await mode(page, name);
    await page.locator('#stage').screenshot({ path: path.join(ARTIFACTS, `watch-${name}.png`) });
    t.equal(
      await page.isHidden('#view'),
      name === 'sbs',
      name === 'sbs' ? 'side-by-side shows the video itself' : `${name} is drawn over it`,
    );
  }
  await checkSbsViews(t, page, 'webgl');

  // The disparity of what was converted before and after the change, on decoded frames.
  await until(
    async () => JSON.parse((await getText(`${server.url}/stream_sessions/${s.session_id}`)).text).state === 'ended',
    'the end',
    30_000,
  );
  const playlist = (await getText(`${server.url}/stream/${s.session_id}/playlist.m3u8`)).text;
  const segments = playlistEntries(playlist).filter((l) => l.includes('/seg_'));
  t.equal(segments.length, 10);
  const disparity = async (i: number) => {
    const frames = await decodeGray(await segmentWithInit(playlist, segments[i]!), 640, 180);
    const values = frames.map((f) => meanDisparity(f, 640, 180)).filter((v) => Number.isFinite(v));
    return values.reduce((a, b) => a + b, 0) / values.length;
  };
  const before = await disparity(3);
  const after = await disparity(7);
  t.ok(Math.abs(before) < 0.3, `strength 0: no disparity before the change (${before.toFixed(2)} px)`);
  t.ok(after > 1, `strength 0.04: the later segment has depth (${after.toFixed(2)} px)`);
  t.same(errors, [], 'no page errors');
});

t.test('without WebGL the 2D canvas draws the same views (the live viewer always paints with it)', async (t) => {
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu', CHUNK_SECONDS: '0.5', GPU_POOL_WORKERS: '2' } });
  const chunks = await testPattern({ seconds: 2, chunkSeconds: 0.5, size: '320x180' });
  const browser = await launchChromium({ webgl: false });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 960, height: 540 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const s = (await postJson(`${server.url}/stream_sessions`, { stereo_strength: 0.05 })).json as CreateSessionResponse;
  for (let i = 0; i < 4; i++) t.equal((await putChunk(s, i, chunks[i]!)).status, 201);
  t.equal((await postJson(`${server.url}/stream_sessions/${s.session_id}/end`, { chunks: 4 })).status, 204);
  await page.goto(`${server.url}/watch/${s.session_id}?player=hls`);
  await until(async () => ((await page.evaluate('document.querySelector("video").currentTime')) as number) > 0.8, 'playback', 30_000);
  await page.evaluate('document.querySelector("video").pause()');
  await checkSbsViews(t, page, '2d');
  t.same(errors, [], 'no page errors');
});

t.test('a server that goes away mid-stream is shown, and the page keeps trying', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const s = await createSession(server.url);
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/watch/${s.session_id}`);
  await until(async () => (await page.getAttribute('#status', 'data-state')) === 'waiting', 'waiting for the first segment', 10_000);
  t.match(await page.textContent('#overlay'), /waiting for the first segment/);
  await server.close();
  await until(async () => (await page.getAttribute('#status', 'data-state')) === 'offline', 'the offline state', 10_000);
  t.match(await page.textContent('#overlay'), /connection to the server lost — retrying/);
  t.same(errors, [], 'no page errors');
});

t.test('the views take each eye from where the layout puts it; an anaglyph stream is shown as delivered', async (t) => {
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu', CHUNK_SECONDS: '0.5', GPU_POOL_WORKERS: '2' } });
  const chunks = await testPattern({ seconds: 2, chunkSeconds: 0.5, size: '320x180' });
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 960, height: 540 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  // Half top-bottom: each eye 320×90, the left on top; shown 320×180, stretched back.
  const tb = (await postJson(`${server.url}/stream_sessions`, { mode: 'half-tb', stereo_strength: 0.05 })).json as CreateSessionResponse;
  for (let i = 0; i < 4; i++) t.equal((await putChunk(tb, i, chunks[i]!)).status, 201);
  t.equal((await postJson(`${server.url}/stream_sessions/${tb.session_id}/end`, { chunks: 4 })).status, 204);
  await page.goto(`${server.url}/watch/${tb.session_id}?player=hls`);
  await until(async () => ((await page.evaluate('document.querySelector("video").currentTime')) as number) > 0.8, 'playback', 30_000);
  await page.evaluate('document.querySelector("video").pause()');
  t.equal(await page.evaluate('window.stereospot.layout'), 'half-tb');
  const rects = { left: [0, 0, 1, 0.5], right: [0, 0.5, 1, 0.5] };
  await mode(page, '2d');
  const flat = (await page.evaluate(compareIn(rects))) as Compare & { size: number[] };
  t.same(flat.size, [320, 180, 320, 180], 'the eye shown at the full frame size: stretched back');
  t.ok(flat.eyes[1]! > 2, `the eyes differ on this frame (${flat.eyes[1]!.toFixed(1)})`);
  t.ok(
    flat.left.every((d) => d < 4),
    `2D shows the top (left) eye (${flat.left.map((d) => d.toFixed(2)).join(', ')})`,
  );
  await mode(page, 'anaglyph');
  const anaglyph = (await page.evaluate(compareIn(rects))) as Compare;
  t.ok(anaglyph.left[0]! < 4, `red from the top (left) eye (${anaglyph.left[0]!.toFixed(2)})`);
  t.ok(anaglyph.right[1]! < 4 && anaglyph.right[2]! < 4, `green and blue from the bottom (right) eye`);
  await page.locator('#stage').screenshot({ path: path.join(ARTIFACTS, 'watch-half-tb-anaglyph.png') });

  // A server-made anaglyph has no eyes to part: the page shows it as delivered, and says so.
  const red = (await postJson(`${server.url}/stream_sessions`, { mode: 'anaglyph-dubois' })).json as CreateSessionResponse;
  for (let i = 0; i < 2; i++) t.equal((await putChunk(red, i, chunks[i]!)).status, 201);
  t.equal((await postJson(`${server.url}/stream_sessions/${red.session_id}/end`, { chunks: 2 })).status, 204);
  await page.goto(`${server.url}/watch/${red.session_id}?player=hls`);
  await until(async () => (await page.evaluate('window.stereospot.layout')) === 'anaglyph-dubois', 'the layout', 10_000);
  t.equal(await page.evaluate('window.stereospot.view'), 'sbs', 'shown as delivered (the 2D choice is kept for later sessions)');
  t.ok(await page.isDisabled('#modes button[data-mode="2d"]'), 'the eye views are not offered');
  t.ok(await page.isHidden('#view'), 'no canvas over the video');
  t.same(errors, [], 'no page errors');
  // Every chunk converted: the sessions end (test/shutdown.test.ts closes a server in mid-conversion).
  for (const session of [tb, red]) {
    await until(
      async () => JSON.parse((await getText(`${server.url}/stream_sessions/${session.session_id}`)).text).state === 'ended',
      'the session ended, every chunk converted',
      60_000,
    );
  }
});
