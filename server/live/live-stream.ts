/**
 * One session's live path on the node that runs it: the publisher's frames in (one publisher at a
 * time: the capture client holding the control token, connected here or relayed by another node), the
 * converter (gpu-pool/live-pool.ts) on its video, and every viewer fed the converted video and the
 * publisher's own sound as they come — the viewers here, and the other nodes following it (one viewer
 * for them all: followers.ts). Best effort by design — the durable chunks carry the same capture and
 * never depend on this:
 * - a viewer starts at a keyframe (one is asked of the converter when it joins) and, when its socket
 *   backs up, skips frames until the next keyframe (counted as its own drops: viewer-set.ts);
 * - the converter skips or drops what it cannot convert in time (live-pool.ts), counted too;
 * - when the publisher leaves or no converter is free, viewers hear `live_end` and fall back to HLS;
 * - the converter runs only while someone watches (it starts with the first viewer, at the publisher's
 *   next keyframe, and stops with the last), so an unwatched stream costs the server nothing.
 */
import type { LiveChannel, LivePool } from '../../gpu-pool/live-pool.ts';
import { eyeSize, frameSize, scaledSize, type StereoMode } from '../../protocol/layout.ts';
import {
  avcCodecOf,
  encodeLiveFrame,
  type LiveConfigMessage,
  type LiveControlMessage,
  type LiveEndReason,
  type LiveFrame,
  LiveKind,
} from '../../protocol/live.ts';
import type { LiveRelay } from '../adapters/ports.ts';
import { Followers } from './followers.ts';
import type { LivePath } from './live-path.ts';
import { type LiveViewer, ViewerSet } from './viewer-set.ts';

/** The first SPS in an Annex B access unit. */
export function spsOf(unit: Uint8Array): Uint8Array | null {
  for (let i = 0; i + 4 < unit.byteLength; i++) {
    if (unit[i] === 0 && unit[i + 1] === 0 && unit[i + 2] === 1 && (unit[i + 3]! & 0x1f) === 7) return unit.subarray(i + 3, i + 8);
  }
  return null;
}

export interface LiveStreamOptions {
  sessionId: string;
  pool: LivePool;
  /** Other nodes' viewers and publishers come through it. */
  relay: LiveRelay;
  mode: StereoMode;
  strength: number;
  convergence: number;
  outputHeight: number;
  /** Occlusion-aware warping (gpu-pool/stereo.ts). */
  occlusion: boolean;
  /** Called when the publisher comes or goes, or viewers join or leave (here or on other nodes). */
  onChange?: () => void;
}

export class LiveStream implements LivePath {
  readonly #opts: LiveStreamOptions;
  /** The viewers here, and the relay standing for the other nodes' while any follows. */
  readonly #viewers = new ViewerSet();
  readonly #followers: Followers;
  #channel: LiveChannel | null = null;
  /** What the publisher sends, and what viewers get (the converted video, the publisher's sound). */
  #input: LiveConfigMessage | null = null;
  #output: LiveConfigMessage | null = null;
  /** The publisher now (its socket, or the node relaying it); null: nobody publishes. */
  #publisher: unknown = null;
  #ended: LiveEndReason | null = null;

  constructor(options: LiveStreamOptions) {
    this.#opts = options;
    this.#followers = new Followers(options.sessionId, options.relay);
  }

  get publishing(): boolean {
    return this.#publisher !== null;
  }

  get viewers(): number {
    return this.viewersHere + this.#followers.viewers;
  }

  get viewersHere(): number {
    return this.#viewers.size - (this.#following ? 1 : 0);
  }

  get #following(): boolean {
    return this.#viewers.has(this.#followers.viewer);
  }

  /** Frames received and dropped by the converter (zeros before one ran). */
  stats(): { received: number; dropped: number } {
    const s = this.#channel?.stats;
    return { received: s?.received ?? 0, dropped: (s?.skipped ?? 0) + (s?.dropped ?? 0) };
  }

  configure(config: LiveConfigMessage, source: unknown): boolean {
    this.#input = config;
    const changed = this.#publisher === null;
    this.#publisher = source;
    this.#ended = null;
    if (changed) this.#opts.onChange?.();
    if (this.#viewers.size > 0) return this.#convert();
    // Nobody watches yet: a converter thread starts loading, so the first viewer waits for none.
    this.#opts.pool.prepare();
    return true;
  }

  /** The converter, started when a publisher publishes and someone watches. False when none is free. */
  #convert(): boolean {
    if (this.#channel) return true;
    const { pool, mode, strength, convergence, outputHeight, occlusion } = this.#opts;
    // Only data crosses to the converter's thread.
    this.#channel = pool.open(
      { mode, strength, convergence, outputHeight, occlusion },
      {
        unit: (unit) => this.#converted(unit.data, unit.time, unit.key),
        error: () => this.#end('overloaded'),
      },
    );
    if (this.#channel) return true;
    this.#end('overloaded');
    return false;
  }

  frame(frame: LiveFrame, bytes: Uint8Array): void {
    if (this.#publisher === null || !this.#input) return;
    if (frame.kind === LiveKind.Video) this.#channel?.push(frame);
    else if (this.#output) this.#viewers.broadcast(bytes.slice(), false, false);
  }

  /**
   * The session's settings changed: strength and convergence reach the converter from its next frame; a
   * new output format starts a new converter (a new configuration for the viewers, from a keyframe).
   */
  setSettings(settings: { strength?: number; convergence?: number }, mode: StereoMode): void {
    if (settings.strength !== undefined) this.#opts.strength = settings.strength;
    if (settings.convergence !== undefined) this.#opts.convergence = settings.convergence;
    if (mode === this.#opts.mode) {
      this.#channel?.setSettings(settings);
      return;
    }
    this.#opts.mode = mode;
    const channel = this.#channel;
    if (!channel) return;
    this.#channel = null;
    this.#output = null;
    void channel.close();
    this.#convert();
  }

  addViewer(viewer: LiveViewer): void {
    this.#viewers.add(viewer);
    this.#opts.onChange?.();
    const state = this.#state();
    if (state) viewer.sendText(state);
    this.#channel?.requestKeyframe();
  }

  /** What a viewer joining now is told first: that nothing runs, or the stream's configuration (when known). */
  #state(): LiveControlMessage | null {
    if (this.#ended) return { type: 'live_end', reason: this.#ended };
    if (this.#publisher === null) return { type: 'live_end', reason: 'not_publishing' };
    return this.#convert() ? this.#output : null;
  }

  removeViewer(viewer: LiveViewer): void {
    if (this.#viewers.delete(viewer)) this.#opts.onChange?.();
    if (this.#viewers.size > 0 || !this.#channel) return;
    const channel = this.#channel;
    this.#channel = null;
    this.#output = null;
    void channel.close();
  }

  /**
   * Node `node` has `viewers` of this stream (0: none any more); `keyframe`: one of them just joined.
   * A node that starts following is told the stream's state, as a viewer joining here would be.
   */
  watch(node: string, viewers: number, keyframe: boolean): void {
    const before = this.viewers;
    const joined = this.#followers.watch(node, viewers);
    this.#followed(before, joined);
    if (keyframe) this.#channel?.requestKeyframe();
  }

  tick(): void {
    const { received, dropped } = this.stats();
    this.#viewers.sendStats(received, dropped);
    const before = this.viewers;
    if (this.#followers.expire()) this.#followed(before, false);
  }

  /** The relay joins the viewers with the first following node and leaves with the last. */
  #followed(before: number, joined: boolean): void {
    const relay = this.#followers.viewer;
    if (this.#followers.size === 0) {
      if (this.#following) this.removeViewer(relay);
    } else if (!this.#following) this.addViewer(relay);
    else if (joined) {
      const state = this.#state();
      if (state) relay.sendText(state);
    }
    if (this.viewers !== before) this.#opts.onChange?.();
  }

  unpublished(source: unknown): void {
    if (source === this.#publisher) this.#end('publisher_gone');
  }

  async close(reason: LiveEndReason = 'session_ended'): Promise<void> {
    this.#end(reason);
    this.#viewers.clear();
  }

  #end(reason: LiveEndReason): void {
    if (this.#publisher !== null) {
      this.#publisher = null;
      this.#opts.onChange?.();
    }
    this.#output = null;
    const channel = this.#channel;
    this.#channel = null;
    void channel?.close();
    if (this.#ended === reason) return;
    this.#ended = reason;
    this.#viewers.sendText({ type: 'live_end', reason });
  }

  /** A converted access unit: to every viewer that can take it (the first keyframe names the output's codec). */
  #converted(data: Uint8Array, time: number, key: boolean): void {
    if (!this.#output) {
      const sps = key ? spsOf(data) : null;
      const size = this.#outputSize(sps);
      if (!sps || !size) return;
      this.#output = { type: 'live_config', video: { codec: avcCodecOf(sps), ...size }, audio: this.#input?.audio ?? null };
      this.#viewers.sendText(this.#output);
    }
    this.#viewers.broadcast(encodeLiveFrame({ kind: LiveKind.Video, key, time, duration: 0, data }), true, key);
  }

  #outputSize(sps: Uint8Array | null): { width: number; height: number } | null {
    const input = this.#input?.video;
    if (!sps || !input) return null;
    const { width, height } = scaledSize(input, this.#opts.outputHeight);
    return frameSize(this.#opts.mode, eyeSize(this.#opts.mode, width, height));
  }
}
