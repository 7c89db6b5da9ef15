/**
 * The live viewer: the session's converted frames as they come (`/ws/live/{id}`, protocol/live.ts),
 * decoded with WebCodecs and drawn into a canvas (side by side, anaglyph or 2D) when they are due; the
 * capture's sound decoded and scheduled on the same clock. No segments, no Media Source buffer: a frame
 * is on screen a playout delay after it was captured, and that delay adapts to what arrives.
 *
 * The jitter buffer: every frame's transit (arrival − capture, on the wall clocks) is kept for the last
 * 3 s; a frame is due at capture + the smallest transit + the spread above it (p95 − min) + a little,
 * so the delay is as short as the arrival jitter allows, and grows or shrinks with it. A clock offset
 * between the capturing machine and this one is in every transit alike, so it cancels out of the
 * schedule (only the latency figure shows it). Frames past their time are shown one per vsync, oldest
 * first, so a late one costs a little lag rather than a lost frame; only when more than two are due at
 * once are the oldest dropped (counted). Sound is scheduled at its own due time minus the
 * output's latency, so what is heard goes with what is seen.
 *
 * The page plays the segments whenever this has nothing to show (`standby`): nobody publishes yet, the
 * publisher left, no frame within a few seconds. It stays connected, and the page comes back to it
 * with the first frame of a new publication (`live`). It stops for good (`fallback`) when the live path
 * cannot run here: no converter free, another node runs the session, the session ended, the socket closed.
 */
import { type LiveConfigMessage, type LiveControlMessage, LiveKind, parseLiveFrame } from '../../protocol/live.ts';
import type { StereoMode } from '../../protocol/layout.ts';
import { makePainter, type Painter, type ViewMode, viewSize } from './stereo-view.ts';

/** Transit samples kept (≈ 3 s at 30 fps). */
const WINDOW = 90;
/** Added to the jitter margin: drawing, compositing. */
const MARGIN_MS = 10;
/** Frames decoded and waiting to be shown, at most (older ones go first). */
const MAX_WAITING = 30;
/** Frames due at once before the oldest are dropped: up to two frames (≈ 67 ms at 30 fps) of lag while catching up. */
const MAX_BEHIND = 2;
/** How long to wait for the live stream before falling back. */
const CONFIG_TIMEOUT_MS = 6000;

export interface FramePlayerEvents {
  /** Frames are on screen (the first of a publication). */
  live(): void;
  /** Nothing to show for now (the page plays the segments meanwhile); frames may come back. */
  standby(reason: string): void;
  /** Capture → expected on screen, per presented frame (ms). */
  latency(ms: number): void;
  /** The live path cannot run for this session: the page plays the segments from now on. */
  fallback(reason: string): void;
}

export interface FramePlayerStats {
  latencies: number[];
  presented: number;
  /** Decoded but overtaken before they could be shown. */
  skipped: number;
  /** The server's counts (its converter's and this viewer's socket's drops), as it last said. */
  serverReceived: number;
  serverDropped: number;
  viewerDropped: number;
  /** The playout delay now (capture → due, ms, including any clock offset). */
  playoutMs: number;
  /** Sound: frames scheduled, and dropped (due before they were decoded). */
  audioScheduled: number;
  audioLate: number;
}

type Due = { frame: VideoFrame; due: number };

export class FramePlayer {
  static supported(): boolean {
    return typeof VideoDecoder === 'function' && typeof EncodedVideoChunk === 'function';
  }

  readonly stats: FramePlayerStats = {
    latencies: [],
    presented: 0,
    skipped: 0,
    serverReceived: 0,
    serverDropped: 0,
    viewerDropped: 0,
    playoutMs: 0,
    audioScheduled: 0,
    audioLate: 0,
  };
  readonly #canvas: HTMLCanvasElement;
  readonly #painter: Painter;
  readonly #events: FramePlayerEvents;
  readonly #socket: WebSocket;
  /** Called after each frame is drawn, with when it is on screen (wall-clock ms): a benchmark reads the picture here. */
  probe: ((canvas: HTMLCanvasElement, onScreenAt: number) => void) | null = null;
  /**
   * Called with each piece of sound scheduled (its first channel) and when its first sample is heard
   * (wall-clock ms, from the audio output's own clock: getOutputTimestamp): a test measures lip sync here.
   */
  audioProbe: ((samples: Float32Array, sampleRate: number, audibleAt: number) => void) | null = null;
  #mode: ViewMode = 'sbs';
  /** The stream's layout: where each eye is in its pictures. */
  layout: StereoMode = 'sbs';
  #video: VideoDecoder | null = null;
  #audio: AudioDecoder | null = null;
  #context: AudioContext | null = null;
  #needKey = true;
  #transits: number[] = [];
  #waiting: Due[] = [];
  #raf = 0;
  #lastPaint = 0;
  #vsync = 1000 / 60;
  #closed = false;
  #configTimer: ReturnType<typeof setTimeout>;
  /** On screen since the current publication's first frame. */
  #showing = false;
  /** Arrival time of each frame in the decoder (capture µs → wall ms), until it comes out. */
  readonly #arrivals = new Map<number, number>();

  constructor(canvas: HTMLCanvasElement, url: string, events: FramePlayerEvents) {
    this.#canvas = canvas;
    // A 2D canvas (makePainter says why).
    this.#painter = makePainter(canvas, '2d');
    this.#events = events;
    this.#socket = new WebSocket(url, ['stereospot']);
    this.#socket.binaryType = 'arraybuffer';
    this.#socket.onmessage = (event) => this.#receive(event.data as ArrayBuffer | string);
    this.#socket.onclose = () => this.#fallback('the live socket closed');
    this.#configTimer = setTimeout(() => this.#standby('no live stream yet'), CONFIG_TIMEOUT_MS);
    this.#raf = requestAnimationFrame((t) => this.#present(t));
  }

  get mode(): ViewMode {
    return this.#mode;
  }

  set mode(mode: ViewMode) {
    this.#mode = mode;
  }

  /** Starts the sound (browsers allow it after a user gesture). */
  async unmute(): Promise<void> {
    await this.#context?.resume();
  }

  get muted(): boolean {
    return this.#context?.state !== 'running';
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#configTimer);
    cancelAnimationFrame(this.#raf);
    this.#socket.onclose = null;
    this.#socket.close();
    for (const { frame } of this.#waiting) frame.close();
    this.#waiting = [];
    if (this.#video?.state !== 'closed') this.#video?.close();
    if (this.#audio?.state !== 'closed') this.#audio?.close();
    void this.#context?.close();
  }

  #fallback(reason: string): void {
    if (this.#closed) return;
    this.close();
    this.#events.fallback(reason);
  }

  /** Nothing to show until the next publication; the decoders wait for its configuration. */
  #standby(reason: string): void {
    if (this.#closed) return;
    this.#showing = false;
    for (const { frame } of this.#waiting) frame.close();
    this.#waiting = [];
    this.#transits = [];
    if (this.#video?.state === 'configured') this.#video.close();
    this.#video = null;
    this.#events.standby(reason);
  }

  #receive(data: ArrayBuffer | string): void {
    if (typeof data === 'string') {
      let message: LiveControlMessage;
      try {
        message = JSON.parse(data) as LiveControlMessage;
      } catch {
        return;
      }
      if (message.type === 'live_config') this.#configure(message);
      else if (message.type === 'live_end') {
        const reason = `the live path ended (${message.reason})`;
        if (message.reason === 'not_publishing' || message.reason === 'publisher_gone') this.#standby(reason);
        else this.#fallback(reason);
      } else if (message.type === 'live_stats') {
        this.stats.serverReceived = message.received;
        this.stats.serverDropped = message.dropped;
        this.stats.viewerDropped = message.viewer_dropped;
      }
      return;
    }
    const parsed = parseLiveFrame(new Uint8Array(data));
    if (!parsed.ok) return;
    const { frame } = parsed;
    const now = Date.now();
    if (frame.kind === LiveKind.Video) {
      const video = this.#video;
      if (video?.state !== 'configured') return;
      if (this.#needKey && !frame.key) return;
      this.#needKey = false;
      this.#arrivals.set(frame.time, now);
      video.decode(new EncodedVideoChunk({ type: frame.key ? 'key' : 'delta', timestamp: frame.time, data: frame.data }));
    } else if (this.#audio?.state === 'configured') {
      this.#audio.decode(new EncodedAudioChunk({ type: 'key', timestamp: frame.time, data: frame.data }));
    }
  }

  #configure(config: LiveConfigMessage): void {
    clearTimeout(this.#configTimer);
    if (this.#video?.state !== 'closed') this.#video?.close();
    this.#video = new VideoDecoder({
      output: (frame) => this.#decoded(frame),
      error: (error) => this.#fallback(`the video decoder failed: ${error.message}`),
    });
    this.#video.configure({ codec: config.video.codec, optimizeForLatency: true });
    this.#needKey = true;
    this.#showing = false;
    const size = viewSize(this.#mode, this.layout, config.video.width, config.video.height);
    this.#canvas.width = size.width;
    this.#canvas.height = size.height;
    if (config.audio && typeof AudioDecoder === 'function') {
      if (this.#audio?.state !== 'closed') this.#audio?.close();
      this.#context ??= new AudioContext({ latencyHint: 'interactive', sampleRate: config.audio.sample_rate });
      this.#audio = new AudioDecoder({
        output: (data) => this.#schedule(data),
        error: () => (this.#audio = null),
      });
      const { codec, sample_rate: sampleRate, channels: numberOfChannels, description } = config.audio;
      this.#audio.configure({
        codec,
        sampleRate,
        numberOfChannels,
        // AAC's AudioSpecificConfig; Opus needs none.
        ...(description ? { description: Uint8Array.from(atob(description), (c) => c.charCodeAt(0)) } : {}),
      });
    }
  }

  /** The playout delay from the transits seen: the smallest, plus the spread above it, plus a margin. */
  #playout(): number {
    const sorted = [...this.#transits].sort((a, b) => a - b);
    if (sorted.length === 0) return MARGIN_MS;
    const min = sorted[0]!;
    const p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!;
    return min + (p95 - min) + MARGIN_MS;
  }

  #decoded(frame: VideoFrame): void {
    const capture = frame.timestamp / 1000;
    const arrived = this.#arrivals.get(frame.timestamp) ?? Date.now();
    this.#arrivals.delete(frame.timestamp);
    this.#transits.push(arrived - capture);
    if (this.#transits.length > WINDOW) this.#transits.shift();
    this.stats.playoutMs = this.#playout();
    this.#waiting.push({ frame, due: capture + this.stats.playoutMs });
    while (this.#waiting.length > MAX_WAITING) {
      this.#waiting.shift()!.frame.close();
      this.stats.skipped++;
    }
  }

  /** Each display frame: the oldest frame due by the next vsync is drawn (MAX_BEHIND says when older ones are dropped). */
  #present(time: number): void {
    if (this.#closed) return;
    if (this.#lastPaint > 0) this.#vsync = this.#vsync * 0.9 + Math.min(50, time - this.#lastPaint) * 0.1;
    this.#lastPaint = time;
    const now = Date.now();
    // Frames due by the next vsync, oldest first. One is shown per vsync: a frame that arrived late is
    // shown late rather than lost, and the next ones catch up (a vsync is half a 30-fps frame). Only
    // when more than MAX_BEHIND are due at once are the oldest dropped, to bound the lag.
    let due = 0;
    while (due < this.#waiting.length && this.#waiting[due]!.due <= now + this.#vsync / 2) due++;
    for (; due > MAX_BEHIND; due--) {
      this.#waiting.shift()!.frame.close();
      this.stats.skipped++;
    }
    const shown: Due | null = due > 0 ? this.#waiting.shift()! : null;
    if (shown) {
      const { frame } = shown;
      const size = viewSize(this.#mode, this.layout, frame.displayWidth, frame.displayHeight);
      if (this.#canvas.width !== size.width || this.#canvas.height !== size.height) {
        this.#canvas.width = size.width;
        this.#canvas.height = size.height;
      }
      this.#painter.paint({ image: frame, width: frame.displayWidth, height: frame.displayHeight }, this.#mode, this.layout);
      // On screen at the next vsync after this paint.
      const onScreenAt = performance.timeOrigin + time + this.#vsync;
      const latency = onScreenAt - frame.timestamp / 1000;
      this.probe?.(this.#canvas, onScreenAt);
      frame.close();
      this.stats.presented++;
      this.stats.latencies.push(latency);
      if (!this.#showing) {
        this.#showing = true;
        this.#events.live();
      }
      this.#events.latency(latency);
    }
    this.#raf = requestAnimationFrame((t) => this.#present(t));
  }

  /** Sound at its due time (capture + the video's playout delay), minus the output's own latency. */
  #schedule(data: AudioData): void {
    const context = this.#context;
    if (!context) {
      data.close();
      return;
    }
    const due = data.timestamp / 1000 + this.#playout();
    const outputLatency = (context.baseLatency ?? 0) + (context.outputLatency ?? 0);
    const when = context.currentTime + (due - Date.now()) / 1000 - outputLatency;
    if (when < context.currentTime) {
      this.stats.audioLate++;
      data.close();
      return;
    }
    const buffer = context.createBuffer(data.numberOfChannels, data.numberOfFrames, data.sampleRate);
    for (let channel = 0; channel < data.numberOfChannels; channel++) {
      const plane = new Float32Array(data.numberOfFrames);
      data.copyTo(plane, { planeIndex: channel, format: 'f32-planar' });
      buffer.copyToChannel(plane, channel);
    }
    if (this.audioProbe) {
      // The output's clock: the sample at context time `contextTime` is heard at `performanceTime`.
      const { contextTime, performanceTime } = context.getOutputTimestamp();
      const heard =
        contextTime !== undefined && performanceTime !== undefined && performanceTime > 0
          ? performance.timeOrigin + performanceTime + (when - contextTime) * 1000
          : Date.now() + (when + outputLatency - context.currentTime) * 1000;
      this.audioProbe(buffer.getChannelData(0), data.sampleRate, heard);
    }
    data.close();
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    source.start(when);
    this.stats.audioScheduled++;
  }
}
