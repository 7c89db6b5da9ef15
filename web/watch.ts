/**
 * The watch page (`/watch/{id}`): plays the session's stereo stream frame by frame (the live path,
 * WebCodecs: player/frame-player.ts) where it runs, else — or when it stops — with the WebSocket-fed MSE
 * player, or with hls.js where MSE cannot play it (or with `?player=mse|hls`, or once the session has
 * ended); shows
 * it side-by-side, as an anaglyph or in 2D (`?view=`), full-screen on request; tells the viewer what
 * is happening (waiting, live, behind, ended, server gone, unknown session) instead of a black box;
 * and, with the control token (`#control=…`), changes the depth live. `window.stereospot` exposes the
 * player's figures for tests and the benchmark.
 */
import type { ServerMessage, SessionStatus, StereoSettingsWire } from '../protocol/messages.ts';
import { $, age, showState } from './lib/dom.ts';
import { JsonSocket, type SocketState } from './lib/json-socket.ts';
import { SettingsPanel } from './lib/settings-panel.ts';
import { FramePlayer } from './player/frame-player.ts';
import { LivePlayer, type PlayerState } from './player/live-player.ts';
import type { StereoMode } from '../protocol/layout.ts';
import { hasEyes, StereoView, VIEW_MODES, type ViewMode } from './player/stereo-view.ts';
import { immersiveSupported, XrView } from './player/xr-view.ts';

interface HlsLike {
  loadSource(url: string): void;
  attachMedia(video: HTMLVideoElement): void;
  on(event: string, cb: (event: string, data: { fatal?: boolean; details?: string }) => void): void;
  readonly playingDate: Date | null;
}
interface HlsStatic {
  new (config: Record<string, unknown>): HlsLike;
  isSupported(): boolean;
  Events: { ERROR: string };
}

interface PageStats {
  player: 'live' | 'mse' | 'hls' | 'native';
  /** Why the live path was left (null while it plays, or when it never was tried). */
  fallback: string | null;
  /** The live viewer's figures (drops, playout delay, sound), while it plays. */
  live: FramePlayer['stats'] | null;
  state: string;
  view: ViewMode;
  renderer: 'webgl' | '2d';
  latencies: number[];
  stalls: number[];
  fetchMs: number[];
  /** MSE player: age of each segment's newest frame when it arrived in the page (ms). */
  arrivalMs: number[];
  /** MSE player: gaps played past, holes jumped over, jumps to the live edge. */
  skips: () => { gaps: number; holes: number; jumps: number };
  /** A benchmark's reader of each frame the live viewer draws (bench screen: the screen's clock). */
  probe?: (canvas: HTMLCanvasElement, onScreenAt: number) => void;
  /** A test's reader of the live viewer's sound as it is scheduled (lip sync). */
  audioProbe?: (samples: Float32Array, sampleRate: number, audibleAt: number) => void;
  /** The session's stereo layout. */
  layout: StereoMode;
  /** In a headset (WebXR): frames and eyes drawn. */
  xr: { frames: number; eyes: number } | null;
  /** The session's settings as the page last heard them. */
  settings: { stereo_strength: number; convergence: number } | null;
}

const video = $<HTMLVideoElement>('video');
const statusEl = $('status');
const overlay = $('overlay');
const latencyEl = $('latency');
const view = new StereoView(video, $<HTMLCanvasElement>('view'));
const stats: PageStats = {
  player: 'mse',
  fallback: null,
  live: null,
  state: 'connecting',
  view: 'sbs',
  layout: 'sbs',
  xr: null,
  renderer: view.renderer,
  latencies: [],
  stalls: [],
  fetchMs: [],
  arrivalMs: [],
  skips: () => ({ gaps: 0, holes: 0, jumps: 0 }),
  settings: null,
};
(window as unknown as { stereospot: PageStats }).stereospot = stats;

/** What the overlay says in each state (none while the picture speaks for itself). */
const OVERLAY: Record<string, string> = {
  connecting: 'connecting…',
  waiting: 'waiting for the first segment…',
  stalled: 'buffering…',
  offline: 'connection to the server lost — retrying…',
  unknown: 'this session does not exist',
  error: 'playback error',
  'no session': 'no session to watch',
};

function show(state: string, detail = ''): void {
  stats.state = state;
  showState(statusEl, state, detail);
  const text = OVERLAY[state];
  overlay.hidden = text === undefined;
  if (text !== undefined) overlay.textContent = detail && (state === 'error' || state === 'unknown') ? `${text}: ${detail}` : text;
}

let shownAt = 0;
function showLatency(ms: number): void {
  stats.latencies.push(ms);
  const now = performance.now();
  if (now - shownAt < 250) return; // a readable figure, not a blur
  shownAt = now;
  latencyEl.textContent = `${(ms / 1000).toFixed(2)} s behind capture`;
}

let framePlayer: FramePlayer | null = null;
/** The session's stereo layout (protocol/layout.ts): where each eye is, for the anaglyph and 2D views. */
let layout: StereoMode = 'sbs';

/** The view the viewer chose (kept for the next session), whatever this one's layout allows. */
let askedView: ViewMode = 'sbs';

function setView(asked: ViewMode): void {
  askedView = asked;
  // An anaglyph stream has no eyes to take apart: it is shown as delivered.
  const mode = hasEyes(layout) ? asked : 'sbs';
  if (framePlayer) framePlayer.mode = mode;
  else view.mode = mode;
  stats.view = mode;
  for (const button of document.querySelectorAll<HTMLButtonElement>('#modes button')) {
    button.setAttribute('aria-pressed', String(button.dataset.mode === mode));
  }
  try {
    localStorage.setItem('stereospot.view', asked);
  } catch {
    // storage refused (private mode): the choice lasts for this page only
  }
}

/** The session's settings as a socket told them: the panel shows them, a new format changes where the eyes are. */
function heardSettings(panel: SettingsPanel, settings: StereoSettingsWire, mode: StereoMode): void {
  stats.settings = { stereo_strength: settings.stereo_strength, convergence: settings.convergence };
  panel.update(settings, mode);
  if (mode !== layout) useLayout(mode);
}

/** The session's layout: the views take the eyes from where it puts them; an anaglyph offers none. */
function useLayout(mode: StereoMode): void {
  layout = mode;
  view.layout = mode;
  if (framePlayer) framePlayer.layout = mode;
  stats.layout = mode;
  for (const button of document.querySelectorAll<HTMLButtonElement>('#modes button')) {
    if (button.dataset.mode !== 'sbs') button.disabled = !hasEyes(mode);
  }
  setView(askedView);
}

function initialView(): ViewMode {
  const asked = new URLSearchParams(location.search).get('view') ?? localStorage.getItem('stereospot.view');
  return VIEW_MODES.includes(asked as ViewMode) ? (asked as ViewMode) : 'sbs';
}

function sessionSocketUrl(sessionId: string): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/sessions/${encodeURIComponent(sessionId)}?format=json`;
}

/**
 * The live path where it runs, the segments whenever it has nothing to show: the page switches to the
 * canvas with a publication's first frame and back to the segment player (started then, stopped again
 * when frames return) when the publisher leaves or nobody publishes yet; for good when the live path
 * cannot run here. The session socket alongside keeps the settings panel current.
 */
function playLive(sessionId: string, panel: SettingsPanel, segments: () => (() => void) | null): void {
  const canvas = $<HTMLCanvasElement>('live');
  const wsBase = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
  let stopSegments: (() => void) | null = null;
  const toSegments = (reason: string) => {
    stats.fallback = reason;
    stats.live = null;
    framePlayer = null;
    canvas.hidden = true;
    video.hidden = false;
    setView(stats.view);
    stopSegments ??= segments();
  };
  const settings = new JsonSocket<ServerMessage>(sessionSocketUrl(sessionId), {
    message: (message) => {
      if (message.type === 'snapshot') heardSettings(panel, message.session.settings, message.session.mode);
      else if (message.type === 'settings') heardSettings(panel, message, message.mode);
    },
    state: () => undefined,
  });
  const player = new FramePlayer(canvas, `${wsBase}/ws/live/${encodeURIComponent(sessionId)}`, {
    live: () => {
      stopSegments?.();
      stopSegments = null;
      video.hidden = true;
      canvas.hidden = false;
      framePlayer = player;
      player.layout = layout;
      player.mode = stats.view;
      player.probe = (c, at) => stats.probe?.(c, at);
      player.audioProbe = (samples, rate, at) => stats.audioProbe?.(samples, rate, at);
      view.mode = 'sbs'; // the video's overlay canvas is not drawn while frames come
      stats.player = 'live';
      stats.fallback = null;
      stats.live = player.stats;
      show('live', 'frame by frame');
    },
    standby: (reason) => toSegments(reason),
    latency: showLatency,
    fallback: (reason) => {
      settings.close();
      toSegments(reason);
    },
  });
  show('connecting', 'live path');
}

/** The WebSocket-fed MSE player; the socket comes back on its own when the server does. */
function playWithMse(sessionId: string, panel: SettingsPanel): () => void {
  stats.player = 'mse';
  const player = new LivePlayer(video, {
    state: (state: PlayerState, detail?: string) => show(state, detail),
    latency: showLatency,
  });
  stats.stalls = player.stats.stalls;
  stats.fetchMs = player.stats.fetchMs;
  stats.arrivalMs = player.stats.arrivalMs;
  stats.skips = () => ({ gaps: player.stats.gapsSkipped, holes: player.stats.holesJumped, jumps: player.stats.jumps });
  const socket = new JsonSocket<ServerMessage>(sessionSocketUrl(sessionId), {
    message: (message) => {
      if (message.type === 'snapshot') {
        heardSettings(panel, message.session.settings, message.session.mode);
        player.push(message.entries, true);
        if (message.session.state === 'ended') player.end();
        else if (message.entries.length === 0) show('waiting');
        else if (stats.state === 'offline') show(player.state);
      } else if (message.type === 'playlist') {
        player.push(message.entries);
        if (message.ended) player.end();
      } else if (message.type === 'settings') {
        heardSettings(panel, message, message.mode);
      } else if (message.type === 'error') {
        show('error', message.message);
      }
    },
    state: (state: SocketState, detail) => {
      if (state === 'offline' && player.state !== 'ended') show('offline', `retry ${detail.attempt ?? 1}`);
      else if (state === 'closed' && detail.code === 4404) show('unknown', 'no such session');
    },
  });
  return () => {
    socket.close();
    player.close();
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

/**
 * hls.js (low-latency mode, blocking reload), or the browser's own HLS (Safari). `recorded`: the session
 * has ended — its whole recording plays from the start, and how far behind capture it is means nothing.
 */
async function playWithHls(sessionId: string, recorded: boolean): Promise<void> {
  const src = `/stream/${encodeURIComponent(sessionId)}/playlist.m3u8`;
  const Hls = await loadHls().catch(() => undefined);
  if (!Hls?.isSupported()) {
    stats.player = 'native';
    video.src = src;
    show(recorded ? 'replay' : 'live', 'native HLS');
    return;
  }
  stats.player = 'hls';
  // Close to the live edge: 1.5 target durations behind the newest listed media (hls.js' default is
  // 3), catching up at up to 1.1× speed after a stall.
  const hls = new Hls({ lowLatencyMode: true, liveSyncDurationCount: 1.5, liveMaxLatencyDurationCount: 5, maxLiveSyncPlaybackRate: 1.1 });
  hls.loadSource(src);
  hls.attachMedia(video);
  hls.on(Hls.Events.ERROR, (_e, data) => data.fatal && show('error', data.details ?? 'playback error'));
  video.addEventListener('playing', () => show(recorded ? 'replay' : 'live', recorded ? 'the recording, from its start' : 'hls.js'));
  video.addEventListener('ended', () => show('ended'));
  let stallAt: number | null = null;
  video.addEventListener('waiting', () => (stallAt ??= performance.now()));
  video.addEventListener('playing', () => {
    if (stallAt !== null) stats.stalls.push(performance.now() - stallAt);
    stallAt = null;
  });
  const v = video as HTMLVideoElement & {
    requestVideoFrameCallback?: (cb: (n: number, m: { mediaTime: number; expectedDisplayTime: number }) => void) => number;
  };
  const onFrame = (_n: number, meta: { mediaTime: number; expectedDisplayTime: number }) => {
    const date = hls.playingDate;
    if (date && !recorded) {
      // PROGRAM-DATE-TIME of the playhead, moved to the presented frame.
      const captured = date.getTime() + (meta.mediaTime - video.currentTime) * 1000;
      showLatency(performance.timeOrigin + meta.expectedDisplayTime - captured);
    }
    v.requestVideoFrameCallback!(onFrame);
  };
  v.requestVideoFrameCallback?.(onFrame);
  show('waiting');
}

function wireControls(): void {
  for (const button of document.querySelectorAll<HTMLButtonElement>('#modes button')) {
    button.addEventListener('click', () => setView(button.dataset.mode as ViewMode));
  }
  const stage = $('stage');
  $('fullscreen').addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else stage.requestFullscreen().catch((error: unknown) => show(stats.state, `full screen refused: ${String(error)}`));
  });
  stage.addEventListener('dblclick', () => $('fullscreen').click());
  wireXr();
  $('unmute').addEventListener('click', () => {
    if (framePlayer) {
      void framePlayer.unmute().then(() => ($('unmute').textContent = framePlayer?.muted === false ? 'unmuted' : 'unmute'));
      return;
    }
    video.muted = !video.muted;
    $('unmute').textContent = video.muted ? 'unmute' : 'mute';
  });
}

let xr: XrView | null = null;

/** "Enter VR" where the browser has WebXR: the stream on a virtual screen, each eye its own view. */
function wireXr(): void {
  const button = $<HTMLButtonElement>('enter-vr');
  void immersiveSupported().then((supported) => {
    button.hidden = !supported;
    $('head-locked-label').hidden = !supported;
  });
  button.addEventListener('click', () => {
    if (xr && !xr.ended) {
      void xr.end();
      return;
    }
    // The live canvas must hold the whole frame (both eyes) while the headset draws from it.
    if (framePlayer) framePlayer.mode = 'sbs';
    XrView.enter($<HTMLCanvasElement>('xr'), {
      image: () => (framePlayer ? $<HTMLCanvasElement>('live') : video.readyState >= 2 ? video : null),
      layout: () => layout,
    })
      .then((view) => {
        xr = view;
        view.headLocked = $<HTMLInputElement>('head-locked').checked;
        stats.xr = view.stats;
        button.textContent = 'exit VR';
        show(stats.state, 'in the headset');
      })
      .catch((error: unknown) => {
        if (framePlayer) framePlayer.mode = stats.view;
        show(stats.state, `VR refused: ${(error as Error).message}`);
      });
  });
}

async function main(): Promise<void> {
  wireControls();
  setView(initialView());
  const sessionId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] ?? '');
  if (!sessionId) {
    show('no session', 'open /watch/{session id}');
    return;
  }
  let status: Response;
  try {
    status = await fetch(`/stream_sessions/${encodeURIComponent(sessionId)}`);
  } catch {
    show('offline', 'the server does not answer');
    setTimeout(() => location.reload(), 3000);
    return;
  }
  if (status.status === 404 || status.status === 400) {
    show('unknown', `no session ${sessionId}`);
    return;
  }
  const session = status.ok ? ((await status.json()) as SessionStatus) : null;
  const links = $('links');
  links.innerHTML = '';
  const playlist = document.createElement('a');
  playlist.href = `/stream/${encodeURIComponent(sessionId)}/playlist.m3u8`;
  playlist.textContent = 'HLS playlist';
  links.append(playlist);
  if (session && session.vr_playlist_url !== session.playlist_url) {
    const named = document.createElement('a');
    named.href = session.vr_playlist_url;
    named.textContent = 'for VR players';
    named.title = 'the same playlist, named for players that pick the stereo layout from the name (DeoVR, Skybox, Pigasus…)';
    links.append(named);
  }
  const token = new URLSearchParams(location.hash.slice(1)).get('control');
  const panel = new SettingsPanel(sessionId, token);
  $('settings-slot').append(panel.element);
  const ended = session?.state === 'ended';
  if (session) {
    heardSettings(panel, session.settings, session.mode);
    if (ended) {
      panel.ended();
      latencyEl.textContent = `ended ${age(session.ended_at ?? session.created_at)} ago`;
    }
  }
  const forced = new URLSearchParams(location.search).get('player');
  // Frame by frame where the live path runs; the socket-fed player follows the live edge of the
  // segments; a session that has ended plays from its start (HLS).
  const segments = () => {
    if (forced !== 'hls' && !ended && LivePlayer.supported()) return playWithMse(sessionId, panel);
    void playWithHls(sessionId, ended);
    return null;
  };
  if (forced !== 'hls' && forced !== 'mse' && !ended && FramePlayer.supported()) playLive(sessionId, panel, segments);
  else segments();
}

main().catch((error: unknown) => show('error', String(error)));
