/**
 * The live path's wire: media frame by frame over `/ws/sessions/{id}/live`, beside the durable chunks.
 * A capture client publishes its encoded frames there (with the session's control token); viewers
 * receive the converted frames. A socket of its own, not the session socket: its frames are large and
 * many (30+ a second), its backpressure policy is to drop (the session socket's is to keep every
 * message), and a slow viewer must never hold back a session's control messages.
 *
 * Media travel as binary frames: a 16-byte header (kind, flags, capture time, duration) and the
 * payload — an H.264 access unit or an AAC frame. Control travels as JSON text frames (`live_config`,
 * `live_stats`, `live_end`). The same encoder and parser serve the capture client, the server and the
 * watch page, so all three agree byte for byte.
 */

/** Binary frame kinds. */
export const LiveKind = { Video: 1, Audio: 2 } as const;
export type LiveKind = (typeof LiveKind)[keyof typeof LiveKind];

/** The header before each media payload. */
export const LIVE_HEADER_BYTES = 16;
/** The largest media payload taken (an I-frame of 4K video at high quality fits well within it). */
export const MAX_LIVE_PAYLOAD = 2 * 1024 * 1024;
/** The largest codec description (avcC with its parameter sets; an AudioSpecificConfig is a few bytes). */
export const MAX_DESCRIPTION_BYTES = 4096;
/** The latest and earliest a frame's capture time may lie (µs since the epoch: years 2001 … 2286). */
const MIN_TIME = 1e15;
const MAX_TIME = 1e16;

/** One encoded frame. `time`: when it was captured (µs since the epoch, the capture clock). */
export interface LiveFrame {
  kind: LiveKind;
  /** A keyframe (video: an IDR picture a decoder can start from; audio: always). */
  key: boolean;
  time: number;
  /** µs (0: unknown). */
  duration: number;
  data: Uint8Array;
}

/** The video of a live stream, in WebCodecs' terms. */
export interface LiveVideoConfig {
  /** RFC 6381, e.g. `avc1.42C01E`. */
  codec: string;
  width: number;
  height: number;
  /** avcC (base64) when the access units are length-prefixed; absent: Annex B, parameter sets in-band. */
  description?: string;
}

export interface LiveAudioConfig {
  /** `mp4a.40.2` (AAC-LC: the capture CLI) or `opus` (a browser: WebCodecs encodes no AAC on most systems). */
  codec: LiveAudioCodec;
  sample_rate: number;
  channels: number;
  /** AAC: its AudioSpecificConfig (base64), the frames being raw. Opus: absent (raw packets need none). */
  description?: string;
}

export const LIVE_AUDIO_CODECS = ['mp4a.40.2', 'opus'] as const;
export type LiveAudioCodec = (typeof LIVE_AUDIO_CODECS)[number];

/** What a live stream carries; sent before its first frame and whenever it changes. */
export interface LiveConfigMessage {
  type: 'live_config';
  video: LiveVideoConfig;
  audio: LiveAudioConfig | null;
}

/** The server to a viewer, now and then: what the live path dropped to keep up (counted since it started). */
export interface LiveStatsMessage {
  type: 'live_stats';
  /** Frames the converter received, and dropped (it fell behind) or lost to a slow viewer. */
  received: number;
  dropped: number;
  /** This viewer's own frames dropped because its socket was backed up. */
  viewer_dropped: number;
}

/** The live path stopped or is not running (nobody publishes, the session ended…): fall back to the HLS player. */
export interface LiveEndMessage {
  type: 'live_end';
  reason: LiveEndReason;
}

/** Why a live path stopped or is not running. */
export const LIVE_END_REASONS = ['publisher_gone', 'not_publishing', 'session_ended', 'overloaded', 'not_here'] as const;
export type LiveEndReason = (typeof LIVE_END_REASONS)[number];

export type LiveControlMessage = LiveConfigMessage | LiveStatsMessage | LiveEndMessage;

/** A media frame as it goes on the wire. */
export function encodeLiveFrame(frame: LiveFrame): Uint8Array {
  const out = new Uint8Array(LIVE_HEADER_BYTES + frame.data.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, frame.kind);
  view.setUint8(1, frame.key ? 1 : 0);
  view.setUint16(2, 0);
  view.setFloat64(4, frame.time);
  view.setUint32(12, Math.max(0, Math.min(0xffffffff, Math.round(frame.duration))));
  out.set(frame.data, LIVE_HEADER_BYTES);
  return out;
}

export type LiveFrameCheck = { ok: true; frame: LiveFrame } | { ok: false; message: string };

/** A binary frame checked whole: kind, flags, a plausible capture time, a bounded payload. The payload is a view, not a copy. */
export function parseLiveFrame(bytes: Uint8Array): LiveFrameCheck {
  if (bytes.byteLength < LIVE_HEADER_BYTES + 1)
    return { ok: false, message: `a live frame is a ${LIVE_HEADER_BYTES}-byte header and a payload` };
  if (bytes.byteLength > LIVE_HEADER_BYTES + MAX_LIVE_PAYLOAD)
    return { ok: false, message: `a live frame's payload is at most ${MAX_LIVE_PAYLOAD} bytes` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = view.getUint8(0);
  if (kind !== LiveKind.Video && kind !== LiveKind.Audio) return { ok: false, message: `unknown live frame kind ${kind}` };
  const flags = view.getUint8(1);
  if ((flags & ~1) !== 0 || view.getUint16(2) !== 0) return { ok: false, message: 'unknown live frame flags' };
  const time = view.getFloat64(4);
  if (!Number.isFinite(time) || time < MIN_TIME || time > MAX_TIME)
    return { ok: false, message: 'a live frame needs its capture time (µs since the epoch)' };
  return { ok: true, frame: { kind, key: flags === 1, time, duration: view.getUint32(12), data: bytes.subarray(LIVE_HEADER_BYTES) } };
}

const CODEC = /^[A-Za-z0-9.]{4,40}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSize = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= max;
const isDescription = (v: unknown): v is string =>
  typeof v === 'string' && v.length <= (MAX_DESCRIPTION_BYTES * 4) / 3 + 4 && BASE64.test(v);

export type LiveConfigCheck = { ok: true; config: LiveConfigMessage } | { ok: false; message: string };

/** A `live_config` checked whole and rebuilt (nothing unchecked rides along). */
export function parseLiveConfig(value: unknown): LiveConfigCheck {
  if (!isObject(value) || value.type !== 'live_config') return { ok: false, message: 'expected a live_config message' };
  const { video, audio } = value;
  if (!isObject(video) || typeof video.codec !== 'string' || !CODEC.test(video.codec) || !video.codec.startsWith('avc1.'))
    return { ok: false, message: 'live_config.video.codec must be an H.264 codec string (avc1.PPCCLL)' };
  if (!isSize(video.width, 8192) || !isSize(video.height, 8192))
    return { ok: false, message: 'live_config.video width and height must be 1…8192' };
  if (video.description !== undefined && !isDescription(video.description))
    return { ok: false, message: `live_config.video.description must be base64 of at most ${MAX_DESCRIPTION_BYTES} bytes` };
  const config: LiveConfigMessage = {
    type: 'live_config',
    video: {
      codec: video.codec,
      width: video.width,
      height: video.height,
      ...(video.description !== undefined ? { description: video.description } : {}),
    },
    audio: null,
  };
  if (audio === null || audio === undefined) return { ok: true, config };
  const codec = isObject(audio) ? LIVE_AUDIO_CODECS.find((c) => c === audio.codec) : undefined;
  if (!isObject(audio) || !codec) return { ok: false, message: 'live_config.audio.codec must be mp4a.40.2 (AAC-LC) or opus' };
  if (!isSize(audio.sample_rate, 192_000) || !isSize(audio.channels, 8))
    return { ok: false, message: 'live_config.audio needs sample_rate (≤ 192000) and channels (≤ 8)' };
  const { sample_rate, channels, description } = audio;
  if (codec === 'opus') {
    if (description !== undefined) return { ok: false, message: 'live_config.audio: opus takes no description' };
    config.audio = { codec, sample_rate, channels };
  } else {
    if (!isDescription(description))
      return { ok: false, message: 'live_config.audio.description must be the AudioSpecificConfig in base64' };
    config.audio = { codec, sample_rate, channels, description };
  }
  return { ok: true, config };
}

/** The RFC 6381 codec string of an H.264 stream from its SPS (profile, constraints, level). */
export function avcCodecOf(sps: Uint8Array): string {
  const hex = (i: number) => (sps[i] ?? 0).toString(16).padStart(2, '0').toUpperCase();
  return `avc1.${hex(1)}${hex(2)}${hex(3)}`;
}

/**
 * Sending a live stream best effort: a frame goes only while the way is clear, and once a video frame
 * is lost the video waits for the next keyframe (the decoder at the other end can only start again
 * there). Sound is never held back by it.
 */
export class KeyframeGate {
  #needKey = true;

  /** True while the video waits for a keyframe. */
  get waiting(): boolean {
    return this.#needKey;
  }

  /** Whether `frame` goes now (`clear`: nothing in the way); false means it is dropped. */
  pass(frame: { kind: LiveKind; key: boolean }, clear: boolean): boolean {
    const video = frame.kind === LiveKind.Video;
    if (!clear || (video && this.#needKey && !frame.key)) {
      if (video) this.#needKey = true;
      return false;
    }
    if (video) this.#needKey = false;
    return true;
  }

  /** Video from the next keyframe on (a new connection, a new decoder). */
  reset(): void {
    this.#needKey = true;
  }
}
