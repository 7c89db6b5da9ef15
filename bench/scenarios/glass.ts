/**
 * Glass-to-glass latency, as a person sees it: the server (local profile, real pool) in-process, the
 * capture CLI streaming the test source in real time, and the watch page in headless Chromium. The
 * figure is the page's own, per presented frame: the moment the frame is expected on screen
 * (`requestVideoFrameCallback` expectedDisplayTime) minus the moment it was captured (the capture's
 * wall-clock origin carried in the media, plus the frame's media time). Capture client, server and
 * browser run on this one machine, so they share one clock.
 *
 * Cases: the WebSocket/MSE player at 0.5-s chunks, hls.js at 1-s and 2-s chunks (and any others
 * given). The first `settle` seconds after the first frame (the player catching up from where it
 * joined) are reported apart from the steady state.
 */
import { startBenchServer } from '../../testkit/server.ts';
import { Cleanups } from '../../testkit/teardown.ts';
import { launchChromium } from '../../testkit/browser.ts';
import { sessionOf, startCapture } from '../../testkit/capture.ts';
import { quantiles, type Quantiles } from '../quantiles.ts';

export interface GlassCase {
  player: 'live' | 'mse' | 'hls';
  chunkSeconds: number;
}

export interface GlassOptions {
  /** Seconds measured per case after the first frame (≥ 30 for the report). */
  seconds: number;
  /** Seconds after the first frame not counted in the steady state. */
  settle: number;
  size: string;
  cases: GlassCase[];
}

export interface GlassRow extends GlassCase {
  frames: number;
  steady: Quantiles;
  all: Quantiles;
  stalls: number;
  longestStallMs: number;
  /** MSE only: time from the socket's announcement to the segment's bytes in hand (fetch). */
  fetchMs: Quantiles | null;
  /** MSE only: age of a segment's newest frame when its bytes reach the page (capture → delivery). */
  arrivalMs: Quantiles | null;
  /** The live viewer only: frames dropped on the way (the server's converter and socket, the page's buffer), and its playout delay. */
  live: {
    presented: number;
    dropped: number;
    dropRate: number;
    playoutMs: number;
    audioLate: number;
    /** Where the drops were: the server's converter, this viewer's socket, the page's buffer. */
    server: number;
    socket: number;
    page: number;
  } | null;
}

export const defaultGlassCases = (): GlassCase[] => [
  { player: 'live', chunkSeconds: 0.5 },
  { player: 'mse', chunkSeconds: 0.5 },
  { player: 'hls', chunkSeconds: 1 },
  { player: 'hls', chunkSeconds: 2 },
];

interface LiveStats {
  presented: number;
  skipped: number;
  serverReceived: number;
  serverDropped: number;
  viewerDropped: number;
  playoutMs: number;
  audioLate: number;
}
interface PageStats {
  live: LiveStats | null;
  latencies: number[];
  stalls: number[];
  fetchMs: number[];
  arrivalMs: number[];
  player: string;
}
const READ =
  '(() => { const s = window.stereospot; return { latencies: s.latencies, stalls: s.stalls, fetchMs: s.fetchMs, arrivalMs: s.arrivalMs, player: s.player, live: s.live && { ...s.live, latencies: undefined } }; })()';

async function runCase(c: GlassCase, options: GlassOptions, log: (line: string) => void): Promise<GlassRow> {
  const cleanups = new Cleanups();
  const server = await startBenchServer(cleanups, { CHUNK_SECONDS: String(c.chunkSeconds) });
  const browser = await launchChromium();
  const capture = startCapture([
    '--server',
    server.url,
    '--source',
    'test',
    '--size',
    options.size,
    '--duration',
    String(options.seconds + options.settle + 15),
    '--json',
    '--quiet',
  ]);
  try {
    const sessionId = await sessionOf(capture);
    const page = await browser.newPage();
    await page.goto(`${server.url}/watch/${sessionId}?player=${c.player}`);
    const deadline = Date.now() + 60_000;
    while (((await page.evaluate(READ)) as PageStats).latencies.length === 0) {
      if (Date.now() > deadline) throw new Error('no frame was presented within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, options.settle * 1000));
    const atSettle = (await page.evaluate(READ)) as PageStats;
    const settled = atSettle.latencies.length;
    const stallsBefore = ((await page.evaluate(READ)) as PageStats).stalls.length;
    log(`  ${glassLabel(c)}: measuring ${options.seconds} s…`);
    await new Promise((r) => setTimeout(r, options.seconds * 1000));
    const s = (await page.evaluate(READ)) as PageStats;
    if (s.player !== c.player) throw new Error(`the page played with ${s.player}, not ${c.player}`);
    const stalls = s.stalls.slice(stallsBefore);
    return {
      ...c,
      frames: s.latencies.length - settled,
      steady: quantiles(s.latencies.slice(settled)),
      all: quantiles(s.latencies),
      stalls: stalls.length,
      longestStallMs: stalls.length ? Math.max(...stalls) : 0,
      fetchMs: c.player === 'mse' ? quantiles(s.fetchMs) : null,
      arrivalMs: c.player === 'mse' ? quantiles(s.arrivalMs.slice(Math.floor(s.arrivalMs.length / 4))) : null,
      live: s.live ? liveFigures(s.live, atSettle.live) : null,
    };
  } finally {
    capture.stop();
    await capture.exited;
    await browser.close();
    await cleanups.run();
  }
}

/**
 * Of the frames the capture sent while measured (after settling), how many never reached the screen:
 * dropped by the server (its converter behind, or this viewer's socket backed up) or overtaken in the
 * page's buffer.
 */
function liveFigures(end: LiveStats, start: LiveStats | null): NonNullable<GlassRow['live']> {
  const since = (key: keyof LiveStats) => end[key] - (start?.[key] ?? 0);
  const dropped = since('serverDropped') + since('viewerDropped') + since('skipped');
  const presented = since('presented');
  return {
    presented,
    dropped,
    dropRate: dropped / Math.max(1, presented + dropped),
    playoutMs: end.playoutMs,
    audioLate: since('audioLate'),
    server: since('serverDropped'),
    socket: since('viewerDropped'),
    page: since('skipped'),
  };
}

const PLAYER_LABEL = { live: 'live (frame by frame)', mse: 'WebSocket/MSE', hls: 'hls.js' } as const;
export const glassLabel = (c: GlassCase) =>
  c.player === 'live' ? PLAYER_LABEL.live : `${PLAYER_LABEL[c.player]} @ ${c.chunkSeconds}-s chunks`;
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export function formatGlassRow(r: GlassRow): string {
  return [
    glassLabel(r).padEnd(26),
    `p50 ${sec(r.steady.p50)}  p95 ${sec(r.steady.p95)}  max ${sec(r.steady.max)}`.padEnd(38),
    `stalls ${r.stalls}${r.stalls ? ` (longest ${Math.round(r.longestStallMs)} ms)` : ''}`.padEnd(26),
    `frames ${r.frames}`.padEnd(12),
    `incl. settling p95 ${sec(r.all.p95)}`,
    r.fetchMs ? `  fetch after push p50 ${r.fetchMs.p50.toFixed(1)} ms` : '',
    r.arrivalMs ? `  newest frame on arrival p50 ${sec(r.arrivalMs.p50)} p95 ${sec(r.arrivalMs.p95)}` : '',
    r.live
      ? `  dropped ${r.live.dropped} of ${r.live.presented + r.live.dropped} (${(r.live.dropRate * 100).toFixed(1)} %: converter ${r.live.server}, socket ${r.live.socket}, page ${r.live.page}), playout ${Math.round(r.live.playoutMs)} ms, late sound ${r.live.audioLate}`
      : '',
  ].join(' ');
}

export async function runGlass(options: GlassOptions, log: (line: string) => void): Promise<GlassRow[]> {
  const rows: GlassRow[] = [];
  log(
    `glass-to-glass: ${options.size} test source in real time; ${options.settle} s settling, then ${options.seconds} s measured per case`,
  );
  for (const c of options.cases) {
    const row = await runCase(c, options, log);
    rows.push(row);
    log(formatGlassRow(row));
  }
  return rows;
}
