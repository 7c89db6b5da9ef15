/**
 * Reads one MP4 chunk from memory with libav, in-process (node-av: no ffmpeg process per chunk, which
 * cost ≈110 ms of start-up each with Debian's ffmpeg): stream facts, the capture origin the capture
 * client wrote into the chunk's metadata, decoded video frames in presentation order, and the audio
 * packets to copy as they are. Does not scale or convert: `FrameScaler` does that per frame.
 */
import { Decoder, Demuxer } from 'node-av/api';
import { AV_FRAME_FLAG_CORRUPT, AVERROR_EAGAIN, AVERROR_EOF } from 'node-av/constants';
import { avGetCodecName, Frame, Packet, type Stream } from 'node-av/lib';
import { demuxFromFile } from './scratch.ts';
import { ChunkInputError } from './types.ts';
import { CAPTURE_ORIGIN_TAG } from '../protocol/keys.ts';

/** Metadata key of the capture origin: µs since the epoch of media time 0 (a decimal string). */
export { CAPTURE_ORIGIN_TAG };

export interface ChunkFacts {
  width: number;
  height: number;
  /** Nominal frame rate (average, else real base rate). */
  fps: number;
  /** Time base of the video stream (pts units). */
  timeBase: { num: number; den: number };
  hasAudio: boolean;
  /** Wall-clock ms of media time 0, from the chunk's metadata; null when absent or malformed. */
  origin: number | null;
  /** Video frames the container says it holds (its sample table); 0 when it does not say. */
  frameCount: number;
}

/** How a chunk is decoded. */
export interface ReadOptions {
  /** A private folder chunks reach libav through (see `ChunkReader.open`); none: from memory. */
  scratchDir?: string;
  /**
   * A glance, not a conversion: the frames are only looked at small (the depth warm-up's network
   * inputs), so the decoder skips its deblocking filter — a sixth of decoding a deblocked 720p H.264
   * stream here (x264 ultrafast writes none to skip); the pictures differ by a few levels at block
   * edges, less once scaled down. Never for output.
   */
  glance?: boolean;
}

/** Parses the capture origin tag (µs since epoch) into ms; null unless it is a plausible time. */
export function parseOrigin(value: string | undefined): number | null {
  if (value === undefined || !/^\d{13,17}$/.test(value.trim())) return null;
  const ms = Number(value.trim()) / 1000;
  // 2001-09-09 … 2286-11-20: anything else is not a wall-clock time in µs.
  return ms >= 1e12 && ms < 1e13 ? ms : null;
}

/** The stream's frame count as the container gives it (0: unknown, or not a plausible count). */
function frameCountOf(video: Stream): number {
  const count = Number(video.nbFrames);
  return Number.isSafeInteger(count) && count > 0 ? count : 0;
}

function rate(r: { num: number; den: number }): number {
  return r.den > 0 && r.num > 0 ? r.num / r.den : NaN;
}

/**
 * What a chunk may be. Chunks come from clients, so libav is not left to probe any format it knows:
 * the MP4 demuxer is forced, and only the codecs capture clients produce, at sizes up to 8K, are
 * decoded — an exotic decoder is attack surface, and an enormous picture is memory nobody asked for.
 */
export const CHUNK_FORMAT = 'mp4';
export const VIDEO_CODECS: ReadonlySet<string> = new Set(['h264', 'hevc', 'vp8', 'vp9', 'av1', 'mpeg4']);
export const AUDIO_CODECS: ReadonlySet<string> = new Set(['aac', 'opus', 'mp3']);
export const MAX_SIDE = 8192;
export const MAX_PIXELS = 7680 * 4320;

/** Why a chunk's streams are refused, or null when they are allowed. */
export function refuseInput(width: number, height: number, videoCodec: string | null, audio: Stream | undefined): string | null {
  if (videoCodec === null || !VIDEO_CODECS.has(videoCodec)) {
    return `video codec ${videoCodec ?? 'unknown'} is not accepted (${[...VIDEO_CODECS].join(', ')})`;
  }
  if (width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS) {
    return `a ${width}x${height} picture is larger than accepted (at most ${MAX_SIDE} a side and ${MAX_PIXELS} pixels)`;
  }
  if (audio !== undefined) {
    const audioCodec = avGetCodecName(audio.codecpar.codecId);
    if (audioCodec === null || !AUDIO_CODECS.has(audioCodec)) {
      return `audio codec ${audioCodec ?? 'unknown'} is not accepted (${[...AUDIO_CODECS].join(', ')})`;
    }
  }
  return null;
}

export class ChunkReader {
  readonly facts: ChunkFacts;
  readonly audioStream: Stream | undefined;
  /** Audio packets met while reading video, in file order. */
  readonly audioPackets: Packet[] = [];
  readonly #demuxer: Demuxer;
  readonly #video: Stream;
  readonly #decoder: Decoder;
  #closed = false;

  private constructor(demuxer: Demuxer, video: Stream, audio: Stream | undefined, facts: ChunkFacts, glance: boolean) {
    this.#demuxer = demuxer;
    this.#video = video;
    this.audioStream = audio;
    this.facts = facts;
    // A glance skips the deblocking filter (an AVOption set on the context: node-av's `options`
    // dictionary crashed the process when freed after the decoder had taken it).
    this.#decoder = glance
      ? Decoder.createSync(video, { configure: (context) => void context.setOption('skip_loop_filter', 'all') })
      : Decoder.createSync(video);
  }

  /**
   * Opens a chunk; throws ChunkInputError naming why when it is not a usable video.
   *
   * With `scratchDir` the bytes go to libav through a file there, unlinked as soon as it is open (see
   * scratch.ts: a demuxer over memory leaks its I/O buffer). Without one, or when the file cannot be
   * written, libav reads them in memory.
   */
  static open(bytes: Uint8Array, { scratchDir, glance = false }: ReadOptions = {}): ChunkReader {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let demuxer: Demuxer;
    try {
      // A file that cannot be written costs an I/O buffer (from memory), never the chunk.
      demuxer =
        (scratchDir === undefined ? null : demuxFromFile(buffer, scratchDir, 'chunk')) ??
        Demuxer.openSync(buffer, { format: CHUNK_FORMAT });
    } catch {
      // libav's own words stay here: a client's status names what is wrong in ours.
      throw new ChunkInputError('not a decodable video: the MP4 could not be read (no moov box, or not an MP4)');
    }
    const video = demuxer.video();
    if (!video) {
      demuxer.closeSync();
      throw new ChunkInputError('not a decodable video: no video stream');
    }
    const { width, height } = video.codecpar;
    if (!(width > 0 && height > 0)) {
      demuxer.closeSync();
      throw new ChunkInputError(`not a decodable video: its picture is ${width}x${height}`);
    }
    const refusal = refuseInput(width, height, avGetCodecName(video.codecpar.codecId), demuxer.audio());
    if (refusal !== null) {
      demuxer.closeSync();
      throw new ChunkInputError(refusal);
    }
    // The stream's rate is only metadata here (the timestamps time every frame): a browser recorder's
    // short piece may have no average rate (one frame) and its timescale as "real" rate. Implausible
    // rates fall back to 30 rather than refusing a picture that decodes.
    const plausible = (fps: number) => Number.isFinite(fps) && fps > 0 && fps <= 240;
    const fps = [rate(video.avgFrameRate), rate(video.rFrameRate)].find(plausible) ?? 30;
    const audio = demuxer.audio();
    const facts: ChunkFacts = {
      width,
      height,
      fps,
      timeBase: { num: video.timeBase.num, den: video.timeBase.den },
      hasAudio: audio !== undefined,
      origin: parseOrigin(demuxer.metadata[CAPTURE_ORIGIN_TAG]),
      frameCount: frameCountOf(video),
    };
    try {
      return new ChunkReader(demuxer, video, audio, facts, glance);
    } catch {
      demuxer.closeSync();
      throw new ChunkInputError('not a decodable video: its decoder could not be opened');
    }
  }

  /**
   * Decoded video frames in presentation order. Each is borrowed: valid until the next is asked for,
   * never to be freed or kept by the caller. Audio packets are kept in `audioPackets` on the way.
   * Throws ChunkInputError when the bitstream is broken.
   *
   * One packet and one frame are reused for the whole chunk, read and decoded through the format and
   * codec contexts: node-av's iterators hand out a clone per packet and per frame, and every clone keeps
   * some native memory after it is freed (600 chunks decoded: +108 MiB that way, +49 MiB this way;
   * gpu-pool/README "node-av notes").
   */
  *frames(): Generator<Frame> {
    const format = this.#demuxer.getFormatContext();
    const codec = this.#decoder.getCodecContext();
    if (!codec) throw new ChunkInputError('decoding failed: the decoder is closed');
    const videoIndex = this.#video.index;
    const audioIndex = this.audioStream?.index;
    const packet = new Packet();
    packet.alloc();
    const frame = new Frame();
    frame.alloc();
    // Frames the codec has ready after a send (or the flush): yields each, borrowed.
    const receive = function* (): Generator<Frame> {
      for (;;) {
        frame.unref();
        const ret = codec.receiveFrameSync(frame);
        if (ret === AVERROR_EAGAIN || ret === AVERROR_EOF) return;
        if (ret < 0) throw new ChunkInputError(`decoding failed: libav error ${ret}`);
        if (frame.decodeErrorFlags || frame.hasFlags(AV_FRAME_FLAG_CORRUPT)) throw new ChunkInputError('decoding failed: a corrupt frame');
        yield frame;
      }
    };
    try {
      while (format.readFrameSync(packet) >= 0) {
        if (packet.streamIndex === audioIndex) {
          // Kept until the writer copies it (after the frames it goes with): ours to free. Its time base
          // travels with it (the muxer needs it).
          packet.timeBase = this.audioStream!.timeBase;
          const kept = packet.clone();
          if (kept) this.audioPackets.push(kept);
        } else if (packet.streamIndex === videoIndex && packet.size > 0) {
          packet.timeBase = this.#video.timeBase;
          const sent = codec.sendPacketSync(packet);
          if (sent < 0 && sent !== AVERROR_EAGAIN && sent !== AVERROR_EOF)
            throw new ChunkInputError(`decoding failed: libav error ${sent}`);
          packet.unref();
          yield* receive();
          continue;
        }
        packet.unref();
      }
      // End of input: flush the decoder.
      codec.sendPacketSync(null);
      yield* receive();
    } catch (error) {
      if (error instanceof ChunkInputError) throw error;
      throw new ChunkInputError(`decoding failed: the bitstream is broken (${(error as Error).name})`);
    } finally {
      frame.free();
      packet.free();
    }
  }

  /** Frees libav resources. Safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const packet of this.audioPackets) packet.free();
    this.audioPackets.length = 0;
    this.#decoder.close();
    this.#demuxer.closeSync();
  }
}
