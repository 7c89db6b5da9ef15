/**
 * The WebSocket-fed live player: each segment is announced on the session socket the moment it is
 * listed, fetched at once and appended to Media Source Extensions, so the viewer never waits for a
 * playlist poll or a player's whole-segment hold-back.
 *
 * Live edge: the buffer ahead is sampled right before each segment arrives (its trough — what is left
 * when new data comes). The player speeds up a little (`playbackRate` ≤ 1.25) while that trough is
 * above a small margin, slows a little when it dips below, jumps forward when it is far behind, and
 * after a stall (a trough below zero) widens the margin and jumps back to the live edge; the margin
 * shrinks again while playback stays smooth. A gap (a chunk that failed for good) and a discontinuity
 * (a restarted recorder) are mapped onto the timeline with `timestampOffset`: the next segment plays
 * right after the last one, so there is no hole to get stuck in. Holes that remain (media that came
 * after a stall) are jumped over. Joining mid-stream starts at the newest segment.
 *
 * Latency: every presented frame (`requestVideoFrameCallback`) is mapped back to its capture time
 * through the segment it belongs to (`captured_at` + offset into it) and compared with the moment it
 * is expected on screen — never a point that would flatter the figure.
 */
import type { PlaylistEntry } from '../../protocol/messages.ts';

export type PlayerState = 'waiting' | 'live' | 'behind' | 'stalled' | 'ended' | 'error';

export interface PlayerEvents {
  state(state: PlayerState, detail?: string): void;
  /** Capture-to-display latency of a presented frame (ms). */
  latency(ms: number): void;
}

export interface LivePlayerOptions {
  /** Smallest buffer left when the next segment arrives, to start with (s). Default 0.15. */
  margin?: number;
  /** How far behind the live edge before jumping instead of speeding up (s). Default 2.5. */
  jumpAfter?: number;
}

interface Appended {
  /** Presentation time range on the player's timeline (after timestampOffset). */
  from: number;
  to: number;
  capturedAt: number;
  /** Media start of the entry on the capture timeline. */
  start: number;
}

const MAX_RATE = 1.25;
const MIN_RATE = 0.95;
const MIN_MARGIN = 0.1;
const MAX_MARGIN = 1.5;
/** A stall widens the margin by this much (s)… */
const MARGIN_AFTER_STALL = 0.08;
/** …and every SMOOTH_MS without one narrows it by MARGIN_RELAX (s). */
const SMOOTH_MS = 5000;
const MARGIN_RELAX = 0.02;

export class LivePlayer {
  readonly #video: HTMLVideoElement;
  readonly #events: PlayerEvents;
  readonly #mediaSource = new MediaSource();
  #buffer: SourceBuffer | null = null;
  #codecs = '';
  #initId: string | null = null;
  /** Entries waiting to be appended, in order. */
  readonly #queue: PlaylistEntry[] = [];
  #nextIndex = -1;
  #busy = false;
  #ended = false;
  #closed = false;
  #offset = 0;
  #lastEnd: number | null = null;
  /** A gap was listed since the last appended segment. */
  #afterGap = false;
  /** Duration of the newest appended segment (s). */
  #lastDuration = 0.5;
  readonly #appended: Appended[] = [];
  #margin: number;
  readonly #jumpAfter: number;
  readonly #troughs: number[] = [];
  #stallStarted: number | null = null;
  #smoothSince = performance.now();
  #state: PlayerState = 'waiting';
  readonly #ready: Promise<void>;
  /** For tests and the benchmark: every measured latency and stall. */
  readonly stats = {
    latencies: [] as number[],
    stalls: [] as number[],
    fetchMs: [] as number[],
    /** Age of each segment's newest frame when its bytes are in the page (capture → delivery). */
    arrivalMs: [] as number[],
    jumps: 0,
    /** Gap entries (chunks failed for good) played past. */
    gapsSkipped: 0,
    /** Holes in the buffer jumped over. */
    holesJumped: 0,
  };

  constructor(video: HTMLVideoElement, events: PlayerEvents, options: LivePlayerOptions = {}) {
    this.#video = video;
    this.#events = events;
    this.#margin = options.margin ?? 0.15;
    this.#jumpAfter = options.jumpAfter ?? 2.5;
    video.src = URL.createObjectURL(this.#mediaSource);
    this.#ready = new Promise((resolve) => this.#mediaSource.addEventListener('sourceopen', () => resolve(), { once: true }));
    video.addEventListener('waiting', this.#onWaiting);
    video.addEventListener('playing', this.#onPlaying);
    video.addEventListener('timeupdate', this.#watch);
    video.addEventListener('ended', () => this.#setState('ended'));
    this.#frameLoop();
  }

  /** True when this browser can play CMAF through Media Source Extensions. */
  static supported(codecs = 'avc1.42C01E,mp4a.40.2'): boolean {
    return typeof MediaSource !== 'undefined' && MediaSource.isTypeSupported(`video/mp4; codecs="${codecs}"`);
  }

  /** Listed entries from a snapshot (join: only the newest is played) or a playlist message. */
  push(entries: PlaylistEntry[], join = false): void {
    if (this.#closed) return;
    let fresh = entries.filter((e) => e.index > this.#nextIndex - 1 && !this.#queue.some((q) => q.index === e.index));
    if (join && this.#nextIndex < 0) {
      // Start at the live edge: the newest playable entry.
      const newest = [...fresh].reverse().find((e) => !e.gap);
      fresh = newest ? fresh.filter((e) => e.index >= newest.index) : [];
    }
    this.#queue.push(...fresh);
    this.#queue.sort((a, b) => a.index - b.index);
    void this.#pump();
  }

  /** The playlist closed: once everything queued is appended, the stream ends. */
  end(): void {
    this.#ended = true;
    void this.#pump();
  }

  get state(): PlayerState {
    return this.#state;
  }

  /** Seconds of media buffered ahead of the playhead. */
  bufferAhead(): number {
    const t = this.#video.currentTime;
    const b = this.#video.buffered;
    for (let i = 0; i < b.length; i++) if (b.start(i) <= t + 0.05 && b.end(i) > t) return b.end(i) - t;
    return 0;
  }

  close(): void {
    this.#closed = true;
    this.#video.removeEventListener('waiting', this.#onWaiting);
    this.#video.removeEventListener('playing', this.#onPlaying);
    this.#video.removeEventListener('timeupdate', this.#watch);
  }

  async #pump(): Promise<void> {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    try {
      await this.#ready;
      while (this.#queue.length > 0 && !this.#closed) {
        const entry = this.#queue.shift()!;
        if (entry.index < this.#nextIndex) continue;
        this.#nextIndex = entry.index + 1;
        if (entry.gap) {
          // Nothing to play: the next segment continues right where the last one ended, so the
          // timeline has no hole to get stuck in (at the live edge the wait for it is a short underrun).
          this.#afterGap = true;
          this.stats.gapsSkipped++;
          continue;
        }
        await this.#append(entry);
      }
      if (this.#ended && this.#queue.length === 0 && this.#mediaSource.readyState === 'open') {
        await this.#idle();
        this.#mediaSource.endOfStream();
      }
    } catch (error) {
      this.#setState('error', (error as Error).message);
    } finally {
      this.#busy = false;
    }
  }

  async #append(entry: PlaylistEntry): Promise<void> {
    const t0 = performance.now();
    const [init, media] = await Promise.all([
      entry.init && entry.init.id !== this.#initId ? fetchBytes(entry.init.uri) : Promise.resolve(null),
      fetchBytes(entry.uri!),
    ]);
    this.stats.fetchMs.push(performance.now() - t0);
    if (entry.captured_at !== null) this.stats.arrivalMs.push(Date.now() - (entry.captured_at + entry.duration * 1000));
    const codecs = entry.init?.codecs ?? this.#codecs;
    if (!this.#buffer) {
      this.#buffer = this.#mediaSource.addSourceBuffer(`video/mp4; codecs="${codecs}"`);
      this.#codecs = codecs;
    } else if (codecs !== this.#codecs && 'changeType' in this.#buffer) {
      this.#buffer.changeType(`video/mp4; codecs="${codecs}"`);
      this.#codecs = codecs;
    }
    // The trough: what was left of the buffer when this segment arrived.
    if (this.#appended.length > 0 && !this.#video.paused) this.#trough(this.bufferAhead());
    if (this.#lastEnd === null || entry.discontinuity || this.#afterGap) {
      // Map this entry's capture time onto the player's timeline right after what is buffered.
      this.#offset = this.#lastEnd === null ? 0 : this.#lastEnd - entry.start;
      await this.#idle();
      this.#buffer.timestampOffset = this.#offset;
      this.#afterGap = false;
    }
    if (init) {
      await this.#appendBytes(init);
      this.#initId = entry.init!.id;
    }
    await this.#appendBytes(media);
    const from = entry.start + this.#offset;
    this.#lastEnd = from + entry.duration;
    this.#lastDuration = entry.duration;
    this.#appended.push({ from, to: this.#lastEnd, capturedAt: entry.captured_at ?? NaN, start: entry.start });
    if (this.#appended.length > 600) this.#appended.splice(0, 300);
    this.#trimBehind();
    this.#watch();
    if (this.#state === 'waiting') {
      this.#video.currentTime = from;
      void this.#video.play().catch(() => this.#setState('waiting', 'press play'));
    }
  }

  #appendBytes(bytes: ArrayBuffer): Promise<void> {
    const buffer = this.#buffer!;
    return new Promise((resolve, reject) => {
      const done = () => {
        buffer.removeEventListener('updateend', done);
        buffer.removeEventListener('error', failed);
        resolve();
      };
      const failed = () => {
        buffer.removeEventListener('updateend', done);
        buffer.removeEventListener('error', failed);
        reject(new Error('the browser refused a segment'));
      };
      buffer.addEventListener('updateend', done);
      buffer.addEventListener('error', failed);
      buffer.appendBuffer(bytes);
    });
  }

  #idle(): Promise<void> {
    const buffer = this.#buffer;
    if (!buffer?.updating) return Promise.resolve();
    return new Promise((resolve) => buffer.addEventListener('updateend', () => resolve(), { once: true }));
  }

  /** Keeps memory bounded: media more than 30 s behind the playhead is removed. */
  #trimBehind(): void {
    const buffer = this.#buffer;
    const t = this.#video.currentTime;
    if (!buffer || buffer.updating || buffer.buffered.length === 0 || t - buffer.buffered.start(0) < 60) return;
    buffer.remove(0, t - 30);
  }

  /** Live-edge control from the buffer left when new data arrives. */
  #trough(level: number): void {
    this.#troughs.push(level);
    if (this.#troughs.length > 5) this.#troughs.shift();
    const sorted = [...this.#troughs].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1]!;
    const excess = median - this.#margin;
    const now = performance.now();
    if (now - this.#smoothSince > SMOOTH_MS) {
      // Smooth for a while: try a tighter margin.
      this.#margin = Math.max(MIN_MARGIN, this.#margin - MARGIN_RELAX);
      this.#smoothSince = now;
    }
    if (excess > this.#jumpAfter) {
      this.#video.currentTime += excess;
      this.stats.jumps++;
      this.#troughs.length = 0;
      return;
    }
    const rate = excess > 0.03 ? Math.min(MAX_RATE, 1 + excess * 0.5) : excess < -0.03 ? MIN_RATE : 1;
    if (Math.abs(this.#video.playbackRate - rate) > 0.005) this.#video.playbackRate = rate;
    this.#setState(excess > 1 ? 'behind' : 'live');
  }

  readonly #onWaiting = (): void => {
    // A seek of ours (a jump, a skipped hole) waits for a moment: that is not the stream stalling.
    if (this.#video.seeking) return;
    if (this.#state === 'waiting' || this.#state === 'ended' || this.#stallStarted !== null) return;
    this.#stallStarted = performance.now();
    this.#setState('stalled');
    this.#watch();
  };

  readonly #onPlaying = (): void => {
    if (this.#stallStarted !== null) {
      this.stats.stalls.push(performance.now() - this.#stallStarted);
      this.#stallStarted = null;
      // A stall means the margin was too small: widen it, and start a new smooth period.
      this.#margin = Math.min(MAX_MARGIN, this.#margin + MARGIN_AFTER_STALL);
      this.#smoothSince = performance.now();
      this.#troughs.length = 0;
      // Back to the live edge: what piled up during the stall is skipped, not played late. Playback
      // resumes as a segment arrives, so the next one is about a segment's length away: keep that
      // much plus the margin.
      const ahead = this.bufferAhead();
      const keep = this.#margin + this.#lastDuration;
      if (ahead > keep + 0.3) {
        this.#video.currentTime += ahead - keep;
        this.stats.jumps++;
      }
    }
    this.#setState('live');
  };

  /**
   * Skips holes in the buffer (a gap, or data that came after a stall) without stalling: checked on
   * every presented frame and every timeupdate, it jumps to the next buffered range as the playhead
   * comes within a frame or two of the end of the current one.
   */
  readonly #watch = (): void => {
    const t = this.#video.currentTime;
    const b = this.#video.buffered;
    let next = -1;
    for (let i = 0; i < b.length; i++) {
      if (b.start(i) <= t + 0.05 && b.end(i) > t) {
        if (b.end(i) - t > 0.07 || i === b.length - 1) return; // inside buffered media, or at the live edge
        next = i + 1;
        break;
      }
      if (b.start(i) > t) {
        next = i;
        break;
      }
    }
    if (next >= 0 && next < b.length && b.start(next) - t < 30) {
      this.#video.currentTime = b.start(next) + 0.01;
      this.stats.holesJumped++;
    }
  };

  #frameLoop(): void {
    const video = this.#video as HTMLVideoElement & {
      requestVideoFrameCallback?: (cb: (now: number, meta: { mediaTime: number; expectedDisplayTime: number }) => void) => number;
    };
    if (!video.requestVideoFrameCallback) return;
    const onFrame = (_now: number, meta: { mediaTime: number; expectedDisplayTime: number }) => {
      if (this.#closed) return;
      this.#watch();
      const shown = performance.timeOrigin + meta.expectedDisplayTime;
      const captured = this.captureTimeOf(meta.mediaTime);
      if (captured !== null) {
        const ms = shown - captured;
        this.stats.latencies.push(ms);
        if (this.stats.latencies.length > 100_000) this.stats.latencies.splice(0, 50_000);
        this.#events.latency(ms);
      }
      video.requestVideoFrameCallback!(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  /** Wall-clock ms at which the frame at player time `t` was captured; null when unknown. */
  captureTimeOf(t: number): number | null {
    for (let i = this.#appended.length - 1; i >= 0; i--) {
      const a = this.#appended[i]!;
      if (t >= a.from - 0.001 && t < a.to + 0.05) return Number.isFinite(a.capturedAt) ? a.capturedAt + (t - a.from) * 1000 : null;
    }
    return null;
  }

  #setState(state: PlayerState, detail?: string): void {
    if (this.#state === state || (this.#state === 'ended' && state !== 'error')) return;
    this.#state = state;
    this.#events.state(state, detail);
  }
}

async function fetchBytes(url: string): Promise<ArrayBuffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url.split('?')[0]}: ${res.status}`);
  return res.arrayBuffer();
}
