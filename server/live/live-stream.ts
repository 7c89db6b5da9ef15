/**
 * One session's live path on the node that runs it: the publisher's frames in (one publisher at a
 * time: the capture client holding the control token), the converter (gpu-pool/live-pool.ts) on its
 * video, and every viewer fed the converted video and the publisher's own sound as they come. Best
 * effort by design — the durable chunks carry the same capture and never depend on this:
 * - a viewer starts at a keyframe (one is asked of the converter when it joins) and, when its socket
 *   backs up, skips frames until the next keyframe (counted as its own drops);
 * - the converter skips or drops what it cannot convert in time (live-pool.ts), counted too;
 * - when the publisher leaves or no converter is free, viewers hear `live_end` and fall back to HLS;
 * - the converter runs only while someone watches (it starts with the first viewer, at the publisher's
 *   next keyframe, and stops with the last), so an unwatched stream costs the server nothing.
 */
import type { LiveChannel, LivePool } from '../../gpu-pool/live-pool.ts';
import type { StereoMode } from '../../protocol/keys.ts';
import {
  avcCodecOf,
  encodeLiveFrame,
  type LiveConfigMessage,
  type LiveEndMessage,
  type LiveFrame,
  LiveKind,
  type LiveStatsMessage,
} from '../../protocol/live.ts';

/** Where a viewer's messages go (ws/live-sockets.ts gives a socket's). */
export interface LiveViewer {
  sendText(message: LiveConfigMessage | LiveStatsMessage | LiveEndMessage): void;
  /** False when the viewer's socket is backed up and the frame was not sent. */
  sendBinary(bytes: Uint8Array): boolean;
}

interface ViewerState {
  /** Waiting for a keyframe: from joining, or after a frame was lost to backpressure. */
  needKey: boolean;
  dropped: number;
}

/** The first SPS in an Annex B access unit. */
export function spsOf(unit: Uint8Array): Uint8Array | null {
  for (let i = 0; i + 4 < unit.byteLength; i++) {
    if (unit[i] === 0 && unit[i + 1] === 0 && unit[i + 2] === 1 && (unit[i + 3]! & 0x1f) === 7) return unit.subarray(i + 3, i + 8);
  }
  return null;
}

export interface LiveStreamOptions {
  pool: LivePool;
  mode: StereoMode;
  strength: number;
  convergence: number;
  outputHeight: number;
  /** Called when the publisher comes or goes, or a viewer joins or leaves. */
  onChange?: () => void;
}

export class LiveStream {
  readonly #opts: LiveStreamOptions;
  readonly #viewers = new Map<LiveViewer, ViewerState>();
  #channel: LiveChannel | null = null;
  /** What the publisher sends, and what viewers get (the converted video, the publisher's sound). */
  #input: LiveConfigMessage | null = null;
  #output: LiveConfigMessage | null = null;
  #publishing = false;
  #ended: LiveEndMessage['reason'] | null = null;

  constructor(options: LiveStreamOptions) {
    this.#opts = options;
  }

  get publishing(): boolean {
    return this.#publishing;
  }

  get viewers(): number {
    return this.#viewers.size;
  }

  /** Frames received, converted and dropped by the converter (zeros before one ran). */
  stats(): { received: number; converted: number; dropped: number } {
    const s = this.#channel?.stats;
    return { received: s?.received ?? 0, converted: s?.converted ?? 0, dropped: (s?.skipped ?? 0) + (s?.dropped ?? 0) };
  }

  /** A publisher's stream (re)starts with this configuration. False when viewers wait and no converter is free. */
  configure(config: LiveConfigMessage): boolean {
    this.#input = config;
    if (!this.#publishing) {
      this.#publishing = true;
      this.#opts.onChange?.();
    }
    this.#ended = null;
    if (this.#viewers.size > 0) return this.#convert();
    // Nobody watches yet: a converter thread starts loading, so the first viewer waits for none.
    this.#opts.pool.prepare();
    return true;
  }

  /** The converter, started when a publisher publishes and someone watches. False when none is free. */
  #convert(): boolean {
    if (this.#channel) return true;
    const { pool, mode, strength, convergence, outputHeight } = this.#opts;
    // Only data crosses to the converter's thread.
    this.#channel = pool.open(
      { mode, strength, convergence, outputHeight },
      {
        unit: (unit) => this.#converted(unit.data, unit.time, unit.key),
        error: () => this.#end('overloaded'),
      },
    );
    if (this.#channel) return true;
    this.#end('overloaded');
    return false;
  }

  /** One frame from the publisher (after its configuration). */
  frame(frame: LiveFrame): void {
    if (!this.#publishing || !this.#input) return;
    if (frame.kind === LiveKind.Video) this.#channel?.push(frame);
    else if (this.#output) this.#broadcast(frame);
  }

  /** The stereo settings changed (the session's): the converter takes them from its next frame. */
  setSettings(settings: { strength?: number; convergence?: number }): void {
    this.#channel?.setSettings(settings);
  }

  /** A viewer joins: it gets the configuration (when known) and starts at the next keyframe, asked for now. */
  addViewer(viewer: LiveViewer): void {
    this.#viewers.set(viewer, { needKey: true, dropped: 0 });
    this.#opts.onChange?.();
    if (this.#ended) viewer.sendText({ type: 'live_end', reason: this.#ended });
    else if (!this.#publishing) viewer.sendText({ type: 'live_end', reason: 'not_publishing' });
    else if (this.#convert() && this.#output) viewer.sendText(this.#output);
    this.#channel?.requestKeyframe();
  }

  /** A viewer left; with the last one the converter stops. */
  removeViewer(viewer: LiveViewer): void {
    if (this.#viewers.delete(viewer)) this.#opts.onChange?.();
    if (this.#viewers.size > 0 || !this.#channel) return;
    const channel = this.#channel;
    this.#channel = null;
    this.#output = null;
    void channel.close();
  }

  /** Each viewer's drop counts, sent now and then. */
  sendStats(): void {
    const { received, dropped } = this.stats();
    for (const [viewer, state] of this.#viewers) viewer.sendText({ type: 'live_stats', received, dropped, viewer_dropped: state.dropped });
  }

  /** The publisher left (its socket closed): the converter stops, viewers fall back. */
  unpublished(): void {
    this.#end('publisher_gone');
  }

  /** The session ended, or the server shuts down. */
  async close(reason: LiveEndMessage['reason'] = 'session_ended'): Promise<void> {
    this.#end(reason);
    this.#viewers.clear();
  }

  #end(reason: LiveEndMessage['reason']): void {
    if (this.#publishing) {
      this.#publishing = false;
      this.#opts.onChange?.();
    }
    this.#output = null;
    const channel = this.#channel;
    this.#channel = null;
    void channel?.close();
    if (this.#ended === reason) return;
    this.#ended = reason;
    for (const viewer of this.#viewers.keys()) viewer.sendText({ type: 'live_end', reason });
  }

  /** A converted access unit: to every viewer that can take it (the first keyframe names the output's codec). */
  #converted(data: Uint8Array, time: number, key: boolean): void {
    if (!this.#output) {
      const sps = key ? spsOf(data) : null;
      const size = this.#outputSize(sps);
      if (!sps || !size) return;
      this.#output = { type: 'live_config', video: { codec: avcCodecOf(sps), ...size }, audio: this.#input?.audio ?? null };
      for (const viewer of this.#viewers.keys()) viewer.sendText(this.#output);
    }
    this.#broadcast({ kind: LiveKind.Video, key, time, duration: 0, data });
  }

  #outputSize(sps: Uint8Array | null): { width: number; height: number } | null {
    const input = this.#input?.video;
    if (!sps || !input) return null;
    const height = Math.max(2, Math.floor(Math.min(this.#opts.outputHeight, input.height) / 2) * 2);
    const width = Math.max(2, Math.round((input.width * height) / input.height / 2) * 2);
    return { width: this.#opts.mode === 'sbs' ? width * 2 : width, height };
  }

  #broadcast(frame: LiveFrame): void {
    if (this.#viewers.size === 0) return;
    const bytes = encodeLiveFrame(frame);
    const video = frame.kind === LiveKind.Video;
    for (const [viewer, state] of this.#viewers) {
      if (video && state.needKey) {
        if (!frame.key) continue;
        state.needKey = false;
      }
      if (!viewer.sendBinary(bytes)) {
        state.dropped++;
        if (video) state.needKey = true;
      }
    }
  }
}
