/**
 * The dashboard and the browser capture page in headless Debian Chromium against a real server:
 * sessions appear and end on an open dashboard without a reload, with their live path's viewers (and
 * stay hidden behind ADMIN_TOKEN);
 * the capture page streams the fake camera through ffmpeg.wasm (served by our server, no other host
 * contacted) into segments that decode cleanly; a refused permission is shown, not thrown.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { Page } from 'playwright-core';
import { ARTIFACTS, launchChromium } from '../testkit/browser.ts';
import { createSession, getText, playlistEntries, postJson } from '../testkit/http.ts';
import { FakePool } from '../testkit/fake-pool.ts';
import { liveSocket } from '../testkit/live-stream.ts';
import { decodeWarnings, probeStreams, segmentWithInit } from '../testkit/media.ts';
import { startTestServer, until } from '../testkit/server.ts';

const listed = (page: Page) => page.evaluate('window.stereospot.sessions()') as Promise<string[]>;
const rowState = (page: Page, id: string) =>
  page.evaluate(`document.querySelector('tr[data-session="${id}"] .state')?.dataset.state ?? null`) as Promise<string | null>;

t.test('the dashboard shows sessions created and ended anywhere as they happen, without a reload', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  let loads = 0;
  page.on('load', () => loads++);
  await page.goto(`${server.url}/`);
  await until(async () => (await page.textContent('#status'))?.startsWith('live'), 'the dashboard to connect', 10_000);

  // From the moment the API answered (the session exists) to the row on the open page.
  const s = await createSession(server.url);
  const created = Date.now();
  // Polled from here (page.evaluate runs outside the page's CSP; waitForFunction's eval would not).
  await until(async () => (await listed(page)).includes(s.session_id), 'the new session on the open page', 10_000);
  // How fast is the latency benchmark's to say; here it must come without a reload.
  t.comment(`the new session showed up ${Date.now() - created} ms after it was created`);
  t.equal(await rowState(page, s.session_id), 'live');
  t.ok(await page.isVisible(`tr[data-session="${s.session_id}"] a[href="/watch/${s.session_id}"]`), 'a link to the viewer');

  t.equal((await postJson(`${server.url}/stream_sessions/${s.session_id}/end`, {})).status, 204);
  const ending = Date.now();
  await until(async () => (await rowState(page, s.session_id)) === 'ended', 'the end on the open page', 10_000);
  t.comment(`the end showed up ${Date.now() - ending} ms after the request`);

  // The admin action: end a second session from the page.
  const other = await createSession(server.url);
  await until(async () => (await listed(page)).includes(other.session_id), 'the second session', 5_000);
  // Its live path as it changes: a viewer comes (nobody publishes yet), then goes.
  const liveCell = () => page.textContent(`tr[data-session="${other.session_id}"] td.live`);
  t.equal(await liveCell(), '—', 'no live path yet');
  const viewer = await liveSocket(`${server.url.replace('http', 'ws')}/ws/live/${other.session_id}`);
  await until(async () => (await liveCell()) === '1 watching', 'the live viewer on the open page', 5_000);
  viewer.ws.close();
  await until(async () => (await liveCell()) === '—', 'the live viewer gone from the open page', 5_000);
  await page.click(`tr[data-session="${other.session_id}"] button.end`);
  await until(
    async () => JSON.parse((await getText(`${server.url}/stream_sessions/${other.session_id}`)).text).state === 'ended',
    'the end button to end it',
    5_000,
  );
  await until(async () => (await page.textContent('#pool-threads')) === '2', 'the pool load shown', 5_000);
  t.equal(loads, 1, 'no reload');
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png') });
  t.same(errors, [], 'no page errors');
  // On a phone's width the page itself does not scroll sideways: the wide table scrolls in its own box.
  await page.setViewportSize({ width: 412, height: 800 });
  t.same(await pageOverflow(page), { page: false, table: true }, 'at 412 px the sessions table scrolls in its box, the page fits');
});

/** Whether the page scrolls sideways, and whether the sessions table scrolls inside its own box. */
const pageOverflow = (page: Page) =>
  page.evaluate(`(() => {
    const sessions = document.getElementById('sessions');
    return { page: document.documentElement.scrollWidth > innerWidth, table: sessions.scrollWidth > sessions.clientWidth };
  })()`) as Promise<{ page: boolean; table: boolean }>;

t.test('with ADMIN_TOKEN the dashboard asks for it and shows no session ids until it is given', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { ADMIN_TOKEN: 'sesame-0123456789' } });
  const s = await createSession(server.url);
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`${server.url}/`);
  await page.waitForSelector('#login:not([hidden])', { timeout: 10_000 });
  t.notOk((await page.content()).includes(s.session_id), 'no session id anywhere in the page');
  t.same(await listed(page), []);
  await page.fill('#token', 'wrong');
  await page.click('#login button');
  await until(async () => (await page.textContent('#login-error')) === 'that token was refused', 'a refused token is said', 5_000);
  t.notOk((await page.content()).includes(s.session_id), 'still no session id');
  await page.fill('#token', 'sesame-0123456789');
  await page.click('#login button');
  await until(async () => (await listed(page)).includes(s.session_id), 'the sessions with the right token', 5_000);
  t.ok(await page.isHidden('#login'), 'the prompt is gone');
});

t.test('the capture page streams the camera through ffmpeg.wasm from our server into clean segments', async (t) => {
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu', CHUNK_SECONDS: '1', GPU_POOL_WORKERS: '2' } });
  const browser = await launchChromium({ media: 'granted' });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  const elsewhere: string[] = [];
  const requested: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const origin = new URL(server.url);
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.host !== origin.host && url.protocol !== 'blob:' && url.protocol !== 'data:') elsewhere.push(r.url());
    requested.push(url.pathname);
  });
  await page.goto(`${server.url}/capture`);
  await page.selectOption('#source', 'camera');
  await page.click('#start');
  const stats = () =>
    page.evaluate('window.stereospot') as Promise<{
      state: string;
      sessionId: string | null;
      problem: string | null;
      chunks: Array<{ state: string; how?: string }>;
    }>;
  const running = await until(
    async () => {
      const s = await stats();
      if (s.state === 'error' || s.state === 'denied') throw new Error(`capture failed: ${s.problem}`);
      return s.chunks.filter((c) => c.state === 'ready').length >= 3 && s;
    },
    'three chunks converted',
    60_000,
  );
  t.ok(
    running.chunks.some((c) => c.how === 'remux'),
    'H.264 from the recorder is remuxed, not re-encoded',
  );
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'capture.png') });
  await page.click('#stop');
  await until(async () => (await stats()).state === 'ended', 'the session to end cleanly', 60_000);

  const sessionId = running.sessionId!;
  const status = JSON.parse((await getText(`${server.url}/stream_sessions/${sessionId}`)).text);
  t.equal(status.state, 'ended');
  t.ok(status.ready >= 3, `at least three segments (${status.ready})`);
  const pageFailures = (await stats()).chunks.filter((c) => c.state === 'failed');
  t.equal(
    status.failed,
    0,
    `none failed ${JSON.stringify(status.chunks.filter((c: { status: string }) => c.status === 'failed'))} ${JSON.stringify(pageFailures)}`,
  );
  const playlist = (await getText(`${server.url}/stream/${sessionId}/playlist.m3u8`)).text;
  // Capture dates only move forward. Pieces of varying frame rate share one init (gpu-pool/test/pool.test.ts);
  // on a starved machine a recorder may still drop a piece's frames or sound, which is an honest
  // #EXT-X-DISCONTINUITY (and a new init when the sound is missing) — the playlist must play through it.
  const dates = [...playlist.matchAll(/#EXT-X-PROGRAM-DATE-TIME:(.+)/g)].map((m) => Date.parse(m[1]!));
  t.ok(dates.length >= 2 && dates.every((d, i) => i === 0 || d > dates[i - 1]!), 'capture dates move forward');
  const segments = playlistEntries(playlist).filter((l) => l.includes('/seg_'));
  for (const segment of segments.slice(0, 3)) {
    const file = await segmentWithInit(playlist, segment);
    t.equal(await decodeWarnings(file), '', `${segment.split('?')[0]!.split('/').pop()} decodes cleanly`);
  }
  const probe = await probeStreams(await segmentWithInit(playlist, segments[0]!));
  t.same(probe.streams.map((s) => s.codec_name).sort(), ['aac', 'h264'], 'stereo H.264 with the camera audio as AAC');
  t.ok(requested.includes('/assets/ffmpeg/ffmpeg-core.wasm'), "@ffmpeg/core's wasm came from our server");
  t.same(elsewhere, [], 'no other host was contacted');
  t.same(errors, [], 'no page errors');
});

t.test('a refused capture permission is shown with what to do, not thrown', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool() });
  const browser = await launchChromium({ media: 'denied' });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/capture`);
  await page.selectOption('#source', 'camera');
  await page.click('#start');
  await until(async () => (await page.getAttribute('#status', 'data-state')) === 'denied', 'the denied state', 10_000);
  t.match(await page.textContent('#problem-text'), /permission .* denied/);
  t.match(await page.textContent('#problem-action'), /allow it in the browser/);
  t.ok(await page.isEnabled('#start'), 'start can be pressed again');
  const list = JSON.parse((await getText(`${server.url}/stream_sessions`)).text);
  t.same(list.sessions, [], 'no session was created for a capture that never started');
  t.same(errors, [], 'no page errors');
});

t.test('a source that stops sending frames (a static screen) keeps its chunks: the last picture is held over the sound', async (t) => {
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu', CHUNK_SECONDS: '1', GPU_POOL_WORKERS: '2' } });
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/capture`);
  await page.selectOption('#source', 'pattern');
  await page.click('#start');
  type Chunk = { index: number; state: string; how?: string };
  const chunks = async () => ((await page.evaluate('window.stereospot')) as { chunks: Chunk[] }).chunks;
  await until(async () => (await chunks()).some((c) => c.state === 'ready'), 'a first chunk', 60_000);
  // The canvas stops changing: the recorder gets the sound and at most the frame it starts with.
  await page.check('#hold');
  const from = (await chunks()).length + 1; // the piece recording now may still have moving frames
  await until(async () => (await chunks()).filter((c) => c.index >= from && c.state === 'ready').length >= 2, 'two held chunks', 60_000);
  await page.uncheck('#hold');
  await page.click('#stop');
  await until(async () => (await page.evaluate('window.stereospot.state')) === 'ended', 'the end', 60_000);
  const sessionId = (await page.evaluate('window.stereospot.sessionId')) as string;
  const status = JSON.parse((await getText(`${server.url}/stream_sessions/${sessionId}`)).text);
  t.equal(status.failed, 0, 'no chunk failed for want of frames');
  const held = (status.chunks as Array<{ index: number; duration: number }>).filter((c) => c.index >= from && c.index < from + 2);
  t.ok(
    held.every((c) => c.duration > 0.8),
    `held chunks last their whole length (${held.map((c) => c.duration.toFixed(2)).join(', ')} s), not one frame`,
  );
  const playlist = (await getText(`${server.url}/stream/${sessionId}/playlist.m3u8`)).text;
  t.equal(playlist.match(/#EXT-X-MAP:/g)?.length, 1, 'held chunks share the init');
  const segments = playlistEntries(playlist).filter((l) => l.includes('/seg_'));
  const file = await segmentWithInit(playlist, segments[from]!);
  t.equal(await decodeWarnings(file), '', 'a held chunk decodes cleanly');
  t.same((await probeStreams(file)).streams.map((s) => s.codec_name).sort(), ['aac', 'h264'], 'with its sound');
  t.same(errors, [], 'no page errors');
});
