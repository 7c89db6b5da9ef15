/**
 * Screen to eye, read off the pictures themselves: on a desktop of its own (Xvfb), a window shows the
 * wall clock as a block code (bench/tools/clock-window.py); the capture CLI grabs that screen (x11grab)
 * and streams it; the watch page in headless Chromium reads the code off every frame it puts on screen.
 * Latency = the moment the frame is on screen − the time the code shows. No timestamp carried through
 * the pipeline takes part: what is measured is what a person would see. The code shows the time read
 * just before it was drawn, so a figure is never less than the real delay.
 *
 * Cases: the live viewer (frame by frame) and the WebSocket/MSE player (segments), 0.5-s chunks.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startBenchServer } from '../../testkit/server.ts';
import { launchChromium } from '../../testkit/browser.ts';
import { sessionOf, startCapture } from '../../testkit/capture.ts';
import { startDesktop } from '../../testkit/desktop.ts';
import { Cleanups } from '../../testkit/teardown.ts';
import { quantiles, type Quantiles } from '../quantiles.ts';

export interface ScreenRow {
  player: 'live' | 'mse';
  frames: number;
  /** Frames whose code did not read (a torn grab, a half-drawn clock): left out. */
  unread: number;
  latency: Quantiles;
  /** The live viewer: frames lost over the measured seconds, where (converter, viewer's socket, page), of those the server received. */
  drops?: { received: number; converter: number; socket: number; page: number };
  /**
   * The durable path meanwhile, once the capture stopped and the session ended: chunks the capture
   * uploaded, converted, failed; segments the playlist lists and gaps in it.
   */
  durable: { uploaded: number; ready: number; failed: number; listed: number; gaps: number };
}

/** The live viewer's counts (web/player/frame-player.ts FramePlayerStats; the root tsconfig has no DOM types). */
interface LiveCounts {
  serverReceived: number;
  serverDropped: number;
  viewerDropped: number;
  skipped: number;
}

const clockWindow = fileURLToPath(new URL('../tools/clock-window.py', import.meta.url));

/**
 * Runs in the page: reads the 6×4 block code off the left eye of a picture (`source`, `width` wide
 * side by side) and records on-screen time − code time. Installed for the live viewer (its probe) and
 * for the MSE player (requestVideoFrameCallback).
 */
const PROBE = `(() => {
  const out = { latencies: [], unread: 0 };
  window.__screen = out;
  const scratch = document.createElement('canvas');
  const ctx = scratch.getContext('2d', { willReadFrequently: true });
  const read = (source, width, height, onScreenAt) => {
    const eye = width / 2;
    if (scratch.width !== eye || scratch.height !== height) { scratch.width = eye; scratch.height = height; }
    ctx.drawImage(source, 0, 0, eye, height, 0, 0, eye, height);
    const bw = Math.floor(eye / 6), bh = Math.floor(height / 4);
    const bits = [];
    for (let r = 0; r < 4; r++) for (let c = 0; c < 6; c++) {
      const p = ctx.getImageData(c * bw + (bw >> 1), r * bh + (bh >> 1), 1, 1).data;
      bits.push((p[0] + p[1] + p[2]) / 3 > 128 ? 1 : 0);
    }
    let ms = 0, ones = 0, check = 0;
    for (let i = 0; i < 20; i++) { ms = ms * 2 + bits[i]; ones += bits[i]; }
    for (let i = 20; i < 24; i++) check = check * 2 + bits[i];
    if (ones % 16 !== check) { out.unread++; return; }
    let delay = (Math.round(onScreenAt) & 0xFFFFF) - ms;
    if (delay < 0) delay += 0x100000;
    if (delay > 60000) { out.unread++; return; }
    out.latencies.push(delay);
  };
  window.stereospot.probe = (canvas, at) => read(canvas, canvas.width, canvas.height, at);
  const video = document.querySelector('video');
  const onFrame = (_now, meta) => {
    if (window.stereospot.player === 'mse' && video.videoWidth > 0)
      read(video, video.videoWidth, video.videoHeight, performance.timeOrigin + meta.expectedDisplayTime);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
})()`;

export async function runScreen(
  options: { seconds: number; settle: number; players: Array<'live' | 'mse'> },
  log: (line: string) => void,
): Promise<ScreenRow[]> {
  const rows: ScreenRow[] = [];
  for (const player of options.players) {
    const cleanups = new Cleanups();
    try {
      const desktop = await startDesktop(cleanups);
      const total = options.seconds + options.settle + 20;
      const clock = spawn('python3', [clockWindow, String(total)], { stdio: 'ignore', env: { ...process.env, ...desktop.env } });
      cleanups.teardown(() => {
        if (clock.exitCode === null) clock.kill('SIGKILL');
      });
      const server = await startBenchServer(cleanups, { CHUNK_SECONDS: '0.5' });
      const capture = startCapture(
        ['--server', server.url, '--source', 'screen', '--fps', '30', '--duration', String(total), '--json', '--quiet'],
        desktop.env,
      );
      cleanups.teardown(async () => {
        capture.stop();
        await capture.exited;
      });
      const sessionId = await sessionOf(capture);
      await new Promise((r) => setTimeout(r, 1500)); // the grab and the live stream are running
      const browser = await launchChromium();
      cleanups.teardown(() => browser.close());
      const page = await browser.newPage();
      await page.goto(`${server.url}/watch/${sessionId}?player=${player}`);
      await page.waitForFunction('window.stereospot !== undefined', undefined, { timeout: 10_000 }).catch(() => undefined);
      await page.evaluate(PROBE);
      const count = async () => ((await page.evaluate('window.__screen.latencies.length')) as number) ?? 0;
      const deadline = Date.now() + 60_000;
      while ((await count()) === 0) {
        if (Date.now() > deadline) throw new Error(`no frame's clock was read within 60 s (${player})`);
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((r) => setTimeout(r, options.settle * 1000));
      const from = await count();
      const liveCounts = () => page.evaluate('window.stereospot.live') as Promise<LiveCounts | null>;
      const before = await liveCounts();
      log(`  ${player}: measuring ${options.seconds} s…`);
      await new Promise((r) => setTimeout(r, options.seconds * 1000));
      const after = await liveCounts();
      const seen = (await page.evaluate('window.__screen')) as { latencies: number[]; unread: number };
      const actual = (await page.evaluate('window.stereospot.player')) as string;
      if (actual !== player) throw new Error(`the page played with ${actual}, not ${player}`);
      const latencies = seen.latencies.slice(from);
      const drops =
        before && after
          ? {
              received: after.serverReceived - before.serverReceived,
              converter: after.serverDropped - before.serverDropped,
              socket: after.viewerDropped - before.viewerDropped,
              page: after.skipped - before.skipped,
            }
          : undefined;
      // The durable path all along: the capture stops (as Ctrl-C would: the session ends), every chunk
      // it uploaded must be converted and listed.
      capture.stop();
      await capture.exited;
      const durable = await durableOutcome(server.url, sessionId, capture.events);
      rows.push({
        player,
        frames: latencies.length,
        unread: seen.unread,
        latency: quantiles(latencies),
        ...(drops ? { drops } : {}),
        durable,
      });
    } finally {
      await cleanups.run();
    }
  }
  return rows;
}

/** Waits (≤ 60 s) for the session to end, then counts its chunks and its playlist's segments and gaps. */
async function durableOutcome(url: string, sessionId: string, events: Array<Record<string, unknown>>): Promise<ScreenRow['durable']> {
  const uploaded = events.filter((e) => e.event === 'uploaded').length;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = (await (await fetch(`${url}/stream_sessions/${sessionId}`)).json()) as {
      state: string;
      ready: number;
      failed: number;
      playlist_url: string;
    };
    if (status.state === 'ended' || Date.now() > deadline) {
      const lines = (await (await fetch(new URL(status.playlist_url, url))).text()).split('\n');
      const listed = lines.filter((line) => line.startsWith('#EXTINF')).length;
      const gaps = lines.filter((line) => line.startsWith('#EXT-X-GAP')).length;
      return { uploaded, ready: status.ready, failed: status.failed, listed, gaps };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function formatScreenRow(r: ScreenRow): string {
  const q = r.latency;
  const d = r.drops;
  const lost = d ? d.converter + d.socket + d.page : 0;
  const drops = d
    ? `   dropped ${lost} of ${d.received} (${((100 * lost) / Math.max(1, d.received)).toFixed(1)} %: converter ${d.converter}, socket ${d.socket}, page ${d.page})`
    : '';
  const u = r.durable;
  const durable = `   durable: ${u.ready} of ${u.uploaded} chunks converted, ${u.failed} failed, ${u.listed} listed, ${u.gaps} gaps`;
  return `${(r.player === 'live' ? 'live (frame by frame)' : 'WebSocket/MSE @ 0.5 s').padEnd(24)} screen to eye p50 ${Math.round(q.p50)} ms  p95 ${Math.round(q.p95)} ms  max ${Math.round(q.max)} ms   frames ${r.frames} (${r.unread} unread)${drops}${durable}`;
}
