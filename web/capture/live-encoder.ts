/**
 * The capture page's live stream (issue 22): each frame of the source encoded as it comes, with WebCodecs,
 * into the live wire's frames (protocol/live.ts) — beside the recorder's chunks, which it never touches.
 * - Video: the track's frames (MediaStreamTrackProcessor) into `VideoEncoder` — H.264 Annex B (parameter
 *   sets in-band, so the server can start at any keyframe), realtime latency mode, scaled to at most
 *   640×360 as the capture CLI sends (what the server converts in real time on two cores), a keyframe
 *   every second and when asked (after a reconnection). A frame that finds the encoder busy is dropped,
 *   counted: nothing queues.
 * - Sound: `AudioEncoder` to Opus (WebCodecs encodes no AAC on most systems; the viewer's AudioDecoder
 *   takes Opus, and the server passes sound through).
 * - Times: each track's timestamps mapped onto the wall clock at its first sample (µs), the capture
 *   clock the chunks' origins use.
 * The configuration goes out once the video's codec is known and the sound's too (or after a second
 * without any: the stream then goes without).
 */
import type { LiveAudioConfig, LiveConfigMessage, LiveFrame } from '../../protocol/live.ts';
import { LiveKind } from '../../protocol/live.ts';

/** Chromium's track processor (not in TypeScript's DOM types): a track's samples as a stream. */
declare const MediaStreamTrackProcessor: new (init: { track: MediaStreamTrack }) => { readable: ReadableStream<VideoFrame | AudioData> };

const MAX_WIDTH = 640;
const MAX_HEIGHT = 360;
const KEY_EVERY_US = 1_000_000;
/** How long the configuration waits for the sound's before it goes without. */
const AUDIO_WAIT_MS = 1000;

export interface LiveEncoderEvents {
  config(config: LiveConfigMessage): void;
  frame(frame: LiveFrame): void;
  error(error: Error): void;
}

/** Whether this browser can publish a live stream (WebCodecs and track processors). */
export function canPublishLive(): boolean {
  return typeof VideoEncoder === 'function' && typeof MediaStreamTrackProcessor === 'function';
}

/** Wall-clock µs now. */
const wallMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

export class LiveEncoder {
  readonly #events: LiveEncoderEvents;
  readonly #readers: ReadableStreamDefaultReader<VideoFrame | AudioData>[] = [];
  readonly #hasAudio: boolean;
  #video: VideoEncoder | null = null;
  #audio: AudioEncoder | null = null;
  /** Each track's clock to the wall clock (µs), from its first sample. */
  #videoOffset = 0;
  #audioOffset = 0;
  #videoConfig: LiveConfigMessage['video'] | null = null;
  #audioConfig: LiveAudioConfig | null = null;
  /** The configuration sent; null: not yet (frames wait for it). */
  #config: LiveConfigMessage | null = null;
  #videoSince = 0;
  #lastKey = -Infinity;
  #keyWanted = true;
  #closed = false;
  /** Frames the encoder was too busy for. */
  dropped = 0;

  constructor(stream: MediaStream, events: LiveEncoderEvents) {
    this.#events = events;
    const video = stream.getVideoTracks()[0];
    const audio = typeof AudioEncoder === 'function' ? stream.getAudioTracks()[0] : undefined;
    this.#hasAudio = audio !== undefined;
    if (video)
      void this.#pump(
        video,
        (offset) => (this.#videoOffset = offset),
        (frame) => this.#encodeVideo(frame as VideoFrame),
      );
    if (audio)
      void this.#pump(
        audio,
        (offset) => (this.#audioOffset = offset),
        (data) => this.#encodeAudio(data as AudioData),
      );
  }

  /** The next video frame is a keyframe (the server's decoder starts again from one). */
  requestKeyframe(): void {
    this.#keyWanted = true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const reader of this.#readers) void reader.cancel().catch(() => undefined);
    for (const encoder of [this.#video, this.#audio]) if (encoder && encoder.state !== 'closed') encoder.close();
  }

  async #pump(track: MediaStreamTrack, start: (offset: number) => void, each: (sample: VideoFrame | AudioData) => void): Promise<void> {
    const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
    this.#readers.push(reader);
    let first = true;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || this.#closed) {
          value?.close();
          return;
        }
        if (first) start(wallMicros() - value.timestamp);
        first = false;
        each(value);
      }
    } catch (error) {
      if (!this.#closed) this.#events.error(error as Error);
    }
  }

  #encodeVideo(frame: VideoFrame): void {
    this.#video ??= this.#videoEncoder(frame.displayWidth, frame.displayHeight);
    // Busy (a slow machine, a hidden tab): this frame goes, and the encoder never holds more than two.
    if (this.#video.state !== 'configured' || this.#video.encodeQueueSize > 2) {
      this.dropped++;
      frame.close();
      return;
    }
    const time = frame.timestamp + this.#videoOffset;
    const key = this.#keyWanted || time - this.#lastKey >= KEY_EVERY_US;
    if (key) {
      this.#keyWanted = false;
      this.#lastKey = time;
    }
    this.#video.encode(frame, { keyFrame: key });
    frame.close();
  }

  #videoEncoder(sourceWidth: number, sourceHeight: number): VideoEncoder {
    const scale = Math.min(1, MAX_WIDTH / sourceWidth, MAX_HEIGHT / sourceHeight);
    const width = Math.max(2, Math.round((sourceWidth * scale) / 2) * 2);
    const height = Math.max(2, Math.round((sourceHeight * scale) / 2) * 2);
    const encoder = new VideoEncoder({
      output: (chunk, metadata) => {
        if (metadata?.decoderConfig && !this.#videoConfig) {
          this.#videoConfig = { codec: metadata.decoderConfig.codec, width, height };
          this.#videoSince = performance.now();
        }
        if (!this.#configured()) return;
        const data = new Uint8Array(chunk.byteLength);
        chunk.copyTo(data);
        const time = chunk.timestamp + this.#videoOffset;
        this.#events.frame({ kind: LiveKind.Video, key: chunk.type === 'key', time, duration: chunk.duration ?? 0, data });
      },
      error: (error) => this.#events.error(error),
    });
    // Constrained baseline 3.1: no B-frames, decodable everywhere; the frames scaled to the configured size.
    encoder.configure({
      codec: 'avc1.42E01F',
      width,
      height,
      avc: { format: 'annexb' },
      latencyMode: 'realtime',
      bitrate: 1_500_000,
      framerate: 30,
    });
    return encoder;
  }

  #encodeAudio(data: AudioData): void {
    if (!this.#audio) {
      const { sampleRate, numberOfChannels } = data;
      this.#audio = new AudioEncoder({
        output: (chunk) => {
          this.#audioConfig ??= { codec: 'opus', sample_rate: sampleRate, channels: numberOfChannels };
          if (!this.#configured()?.audio) return;
          const bytes = new Uint8Array(chunk.byteLength);
          chunk.copyTo(bytes);
          const time = chunk.timestamp + this.#audioOffset;
          this.#events.frame({ kind: LiveKind.Audio, key: true, time, duration: chunk.duration ?? 0, data: bytes });
        },
        error: (error) => this.#events.error(error),
      });
      this.#audio.configure({ codec: 'opus', sampleRate, numberOfChannels, bitrate: 96_000 });
    }
    if (this.#audio.state === 'configured' && this.#audio.encodeQueueSize <= 8) this.#audio.encode(data);
    data.close();
  }

  /** The configuration (sent now if it can be): once the video's codec is known, and the sound's or it waited long enough. */
  #configured(): LiveConfigMessage | null {
    if (this.#config || !this.#videoConfig) return this.#config;
    const waited = performance.now() - this.#videoSince >= AUDIO_WAIT_MS;
    if (this.#hasAudio && !this.#audioConfig && !waited) return null;
    this.#config = { type: 'live_config', video: this.#videoConfig, audio: this.#audioConfig };
    this.#events.config(this.#config);
    return this.#config;
  }
}
