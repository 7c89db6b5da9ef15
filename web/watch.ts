/**
 * The watch page (`/watch/{id}`, and `/` for the newest live session): plays the session's stereo
 * stream with the WebSocket-fed MSE player, or with hls.js where MSE cannot play it (or with
 * `?player=hls`); shows the session's state and how far behind the capture each displayed frame is.
 * `window.stereospot` exposes the player's figures for tests and the benchmark.
 */
import type { ServerMessage, SessionListResponse } from '../protocol/messages.ts';
import { LivePlayer, type PlayerState } from './player/live-player.ts';

interface HlsLike {
  loadSource(url: string): void;
  attachMedia(video: HTMLVideoElement): void;
  on(event: string, cb: (event: string, data: { fatal?: boolean; details?: string }) => void): void;
  readonly playingDate: Date | null;
  readonly latency: number;
}
interface HlsStatic {
  new (config: Record<string, unknown>): HlsLike;
  isSupported(): boolean;
  Events: { ERROR: string };
}

interface PageStats {
  player: 'mse' | 'hls' | 'native';
  state: string;
  latencies: number[];
  stalls: number[];
  fetchMs: number[];
  /** MSE player: age of each segment's newest frame when it arrived in the page (ms). */
  arrivalMs: number[];
  /** MSE player: gaps played past, holes jumped over, jumps to the live edge. */
  skips: () => { gaps: number; holes: number; jumps: number };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const video = $<HTMLVideoElement>('video');
const statusEl = $('status');
const latencyEl = $('latency');
const stats: PageStats = { player: 'mse', state: 'connecting', latencies: [], stalls: [], fetchMs: [], arrivalMs: [], skips: () => ({ gaps: 0, holes: 0, jumps: 0 }) };
(window as unknown as { stereospot: PageStats }).stereospot = stats;

function show(state: string, detail = ''): void {
  stats.state = state;
  statusEl.textContent = detail ? `${state} · ${detail}` : state;
  statusEl.dataset.state = state;
}

let shownAt = 0;
function showLatency(ms: number): void {
  stats.latencies.push(ms);
  const now = performance.now();
  if (now - shownAt < 250) return; // a readable figure, not a blur
  shownAt = now;
  latencyEl.textContent = `${(ms / 1000).toFixed(2)} s behind capture`;
}

async function pickSession(): Promise<string | undefined> {
  const fromPath = location.pathname.split('/').filter(Boolean)[1];
  if (fromPath) return fromPath;
  const res = await fetch('/stream_sessions?limit=10');
  if (!res.ok) return undefined; // listing may need ADMIN_TOKEN; /watch/{id} still works
  const { sessions } = (await res.json()) as SessionListResponse;
  return (sessions.find((s) => s.state !== 'ended') ?? sessions[0])?.session_id;
}

function socketUrl(sessionId: string): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/sessions/${sessionId}?format=json`;
}

/** The WebSocket-fed MSE player. */
function playWithMse(sessionId: string): void {
  stats.player = 'mse';
  const player = new LivePlayer(video, {
    state: (state: PlayerState, detail?: string) => show(state, detail),
    latency: showLatency,
  });
  stats.stalls = player.stats.stalls;
  stats.fetchMs = player.stats.fetchMs;
  stats.arrivalMs = player.stats.arrivalMs;
  stats.skips = () => ({ gaps: player.stats.gapsSkipped, holes: player.stats.holesJumped, jumps: player.stats.jumps });
  const ws = new WebSocket(socketUrl(sessionId));
  ws.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as ServerMessage;
    if (message.type === 'snapshot') {
      player.push(message.entries, true);
      if (message.session.state === 'ended') player.end();
      if (message.entries.length === 0 && message.session.state !== 'ended') show('waiting', 'for the first segment');
    } else if (message.type === 'playlist') {
      player.push(message.entries);
      if (message.ended) player.end();
    } else if (message.type === 'error') {
      show('error', message.message);
    }
  };
  ws.onclose = (event) => {
    if (event.code === 4404) show('unknown', 'no such session');
    else if (player.state !== 'ended' && event.code !== 4000) show(player.state, 'socket closed');
  };
}

async function loadHls(): Promise<HlsStatic | undefined> {
  const w = window as unknown as { Hls?: HlsStatic };
  if (w.Hls) return w.Hls;
  await new Promise<void>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = '/assets/hls.min.js';
    script.onload = () => resolve();
    script.onerror = () => reject(new Error('hls.js did not load'));
    document.head.append(script);
  });
  return w.Hls;
}

/** hls.js (low-latency mode, blocking reload), or the browser's own HLS (Safari). */
async function playWithHls(sessionId: string): Promise<void> {
  const src = `/stream/${sessionId}/playlist.m3u8`;
  const Hls = await loadHls().catch(() => undefined);
  if (!Hls?.isSupported()) {
    stats.player = 'native';
    video.src = src;
    show('live', 'native HLS');
    return;
  }
  stats.player = 'hls';
  // Close to the live edge: 1.5 target durations behind the newest listed media (hls.js' default is
  // 3), catching up at up to 1.1× speed after a stall.
  const hls = new Hls({ lowLatencyMode: true, liveSyncDurationCount: 1.5, liveMaxLatencyDurationCount: 5, maxLiveSyncPlaybackRate: 1.1 });
  hls.loadSource(src);
  hls.attachMedia(video);
  hls.on(Hls.Events.ERROR, (_e, data) => data.fatal && show('error', data.details ?? 'playback error'));
  video.addEventListener('playing', () => show('live', 'hls.js'));
  video.addEventListener('ended', () => show('ended'));
  let stallAt: number | null = null;
  video.addEventListener('waiting', () => (stallAt ??= performance.now()));
  video.addEventListener('playing', () => {
    if (stallAt !== null) stats.stalls.push(performance.now() - stallAt);
    stallAt = null;
  });
  const v = video as HTMLVideoElement & { requestVideoFrameCallback?: (cb: (n: number, m: { mediaTime: number; expectedDisplayTime: number }) => void) => number };
  const onFrame = (_n: number, meta: { mediaTime: number; expectedDisplayTime: number }) => {
    const date = hls.playingDate;
    if (date) {
      // PROGRAM-DATE-TIME of the playhead, moved to the presented frame.
      const captured = date.getTime() + (meta.mediaTime - video.currentTime) * 1000;
      showLatency(performance.timeOrigin + meta.expectedDisplayTime - captured);
    }
    v.requestVideoFrameCallback!(onFrame);
  };
  v.requestVideoFrameCallback?.(onFrame);
  show('waiting', 'for the first segment');
}

async function main(): Promise<void> {
  const sessionId = await pickSession();
  if (!sessionId) {
    show('no sessions', 'start one with npm run capture');
    return;
  }
  const status = await fetch(`/stream_sessions/${encodeURIComponent(sessionId)}`);
  if (status.status === 404 || status.status === 400) {
    show('unknown', `no session ${sessionId}`);
    return;
  }
  const ended = status.ok && ((await status.json()) as { state: string }).state === 'ended';
  $('links').innerHTML = `<a href="/stream/${sessionId}/playlist.m3u8">playlist</a>`;
  const forced = new URLSearchParams(location.search).get('player');
  // The socket-fed player follows the live edge; a session that has ended plays from its start (HLS).
  if (forced !== 'hls' && !ended && LivePlayer.supported()) playWithMse(sessionId);
  else await playWithHls(sessionId);
  $('unmute').addEventListener('click', () => {
    video.muted = !video.muted;
    $('unmute').textContent = video.muted ? 'unmute' : 'mute';
  });
}

main().catch((error: unknown) => show('error', String(error)));
