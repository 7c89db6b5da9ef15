/**
 * The capture's live stream as the live socket carries it: ffmpeg's per-frame fMP4 (chunker.ts, beside
 * the chunks) read into a `live_config` and frames on the capture clock — media time t was captured at
 * `origin + t`, the same clock the chunks carry — with H.264 turned from length-prefixed NAL units into
 * Annex B (start codes; its parameter sets travel in-band with every keyframe, so a decoder can start
 * at any keyframe, and the stream needs no description).
 */
import { avcCodecOf, type LiveConfigMessage, type LiveFrame, LiveKind } from '../protocol/live.ts';
import { Fmp4Frames, type Fmp4Sample, type Fmp4Track } from './fmp4-frames.ts';

const START_CODE = [0, 0, 0, 1];

/** Length-prefixed NAL units (AVCC, `lengthSize` bytes each) → Annex B; null when a length overruns. */
export function annexB(avcc: Uint8Array, lengthSize = 4): { bytes: Uint8Array; sps: Uint8Array | null } | null {
  const view = new DataView(avcc.buffer, avcc.byteOffset, avcc.byteLength);
  const units: Uint8Array[] = [];
  let sps: Uint8Array | null = null;
  for (let at = 0; at < avcc.byteLength; ) {
    if (at + lengthSize > avcc.byteLength) return null;
    let length = 0;
    for (let i = 0; i < lengthSize; i++) length = length * 256 + view.getUint8(at + i);
    at += lengthSize;
    if (length === 0 || at + length > avcc.byteLength) return null;
    const unit = avcc.subarray(at, at + length);
    if ((unit[0]! & 0x1f) === 7) sps ??= unit;
    units.push(unit);
    at += length;
  }
  return { bytes: annexBOf(units), sps };
}

/** What an avcC holds: the NAL length size and the parameter sets (4 and none when there is no avcC). */
export function parseAvcC(avcC: Uint8Array): { lengthSize: number; sets: Uint8Array[] } {
  if (avcC.byteLength < 7 || avcC[0] !== 1) return { lengthSize: 4, sets: [] };
  const sets: Uint8Array[] = [];
  let at = 5;
  const take = (count: number) => {
    for (let i = 0; i < count && at + 2 <= avcC.byteLength; i++) {
      const length = (avcC[at]! << 8) | avcC[at + 1]!;
      at += 2;
      if (at + length > avcC.byteLength) return;
      sets.push(avcC.subarray(at, at + length));
      at += length;
    }
  };
  take(avcC[at++]! & 0x1f); // SPS
  if (at < avcC.byteLength) take(avcC[at++]!); // PPS
  return { lengthSize: (avcC[4]! & 3) + 1, sets };
}

/** NAL units in Annex B: each after a start code. */
function annexBOf(units: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(units.reduce((n, u) => n + 4 + u.byteLength, 0));
  let at = 0;
  for (const unit of units) {
    out.set(START_CODE, at);
    out.set(unit, at + 4);
    at += 4 + unit.byteLength;
  }
  return out;
}

export interface LiveFeedEvents {
  /** The stream's configuration: before the first frame, once its first keyframe named the profile. */
  config(config: LiveConfigMessage): void;
  frame(frame: LiveFrame): void;
  /** The stream is not what the chunker makes (a bug, or another ffmpeg): the live path stops. */
  error(error: Error): void;
}

export class LiveFeed {
  readonly #originMicros: () => number;
  readonly #events: LiveFeedEvents;
  readonly #reader: Fmp4Frames;
  #tracks: Fmp4Track[] = [];
  #configured = false;
  #failed = false;

  /** `originMicros`: the wall-clock µs of media time 0 (the chunker's, read when capture starts). */
  constructor(originMicros: () => number, events: LiveFeedEvents) {
    this.#originMicros = originMicros;
    this.#events = events;
    this.#reader = new Fmp4Frames(
      (tracks) => (this.#tracks = tracks),
      (sample) => this.#sample(sample),
    );
  }

  /** ffmpeg's next bytes. */
  push(bytes: Uint8Array): void {
    if (this.#failed) return;
    try {
      this.#reader.push(bytes);
    } catch (error) {
      this.#failed = true;
      this.#events.error(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #sample(sample: Fmp4Sample): void {
    const time = this.#originMicros() + sample.time;
    if (sample.track.kind === 'audio') {
      if (this.#configured) this.#events.frame({ kind: LiveKind.Audio, key: true, time, duration: sample.duration, data: sample.data });
      return;
    }
    const avcC = parseAvcC(sample.track.description);
    const converted = annexB(sample.data, avcC.lengthSize);
    if (!converted) throw new Error('fMP4: an H.264 sample whose NAL lengths overrun it');
    // Parameter sets kept out of band (in the avcC: a muxer that asked for a global header) go in-band
    // before every keyframe, so a decoder can start at any of them.
    let data = converted.bytes;
    let sps = converted.sps;
    if (sample.key && !sps && avcC.sets.length > 0) {
      const sets = annexBOf(avcC.sets);
      data = new Uint8Array(sets.byteLength + converted.bytes.byteLength);
      data.set(sets);
      data.set(converted.bytes, sets.byteLength);
      sps = avcC.sets.find((set) => (set[0]! & 0x1f) === 7) ?? null;
    }
    if (!this.#configured) {
      // Wait for the first keyframe: its SPS names the profile and level the viewer's decoder needs.
      if (!sample.key || !sps) return;
      this.#configured = true;
      this.#events.config(this.#config(sps));
    }
    this.#events.frame({ kind: LiveKind.Video, key: sample.key, time, duration: sample.duration, data });
  }

  #config(sps: Uint8Array): LiveConfigMessage {
    const video = this.#tracks.find((t) => t.kind === 'video')!;
    const audio = this.#tracks.find((t) => t.kind === 'audio');
    return {
      type: 'live_config',
      video: { codec: avcCodecOf(sps), width: video.width ?? 0, height: video.height ?? 0 },
      audio: audio
        ? {
            codec: 'mp4a.40.2',
            sample_rate: audio.sampleRate ?? 48_000,
            channels: audio.channels ?? 2,
            description: Buffer.from(audio.description).toString('base64'),
          }
        : null,
    };
  }
}
