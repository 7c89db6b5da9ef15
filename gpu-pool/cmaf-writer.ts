/**
 * Encodes stereo frames with x264 and muxes them, with the chunk's audio copied (or silence where it has
 * none), into one CMAF segment in memory (libav in-process via node-av). Frames keep the chunk's own
 * timestamps, and `frag_discont` + `default_base_moof` put the real start time in each fragment's
 * `tfdt`, so consecutive segments continue one timeline however they were produced. The init segment
 * (ftyp+moov) carries no per-chunk values (the audio bit rate is cleared), so every chunk of one
 * format yields the same init bytes and a session shares one.
 */
import { Encoder, Muxer } from 'node-av/api';
import { avRescaleQ, Frame, Packet, Rational, type Stream } from 'node-av/lib';
import { AV_PICTURE_TYPE_NONE, AV_PIX_FMT_YUV420P, AVERROR_EOF, FF_ENCODER_LIBX264 } from 'node-av/constants';
import { codecsOf, splitInit } from './cmaf.ts';
import type { SilentAudio } from './silent-audio.ts';

export interface CmafWriterOptions {
  width: number;
  height: number;
  timeBase: { num: number; den: number };
  /** The chunk's audio stream, copied as it is. */
  audio?: Stream | undefined;
  /** Without `audio`: a silent track from this (see silent-audio.ts); neither: a segment without sound. */
  silence?: SilentAudio | undefined;
}

export interface CmafSegment {
  init: Uint8Array;
  media: Uint8Array;
  codecs: string;
}

/** Fast, no lookahead, constant quality (node-av's default is a 1 Mb/s average, wrong for most sizes). */
const X264_OPTIONS: ReadonlyArray<[string, string]> = [['preset', 'ultrafast'], ['tune', 'zerolatency'], ['crf', '23']];
const MUX_BUFFER_BYTES = 4096;
const MOVFLAGS = '+cmaf+frag_keyframe+empty_moov+default_base_moof+frag_discont+skip_trailer';
/**
 * node-av's muxer sends every packet through a "sync queue" when a stream is copied (as ffmpeg does);
 * non-limiting, it only passes packets on, yet it kept ≈ 120 bytes of native memory per packet, audio
 * and video: ≈ 18 KiB per 2-s chunk with sound, measured with glibc's bytes in use (gpu-pool/README
 * "node-av notes"). Off, packets go straight to libav's own interleaving, and muxing is faster too.
 */
const USE_SYNC_QUEUE = false;

/**
 * The frame rate written into the SPS (VUI timing) — part of the init segment, so it must not follow a
 * chunk's measured rate: that varies (a browser recorder's pieces measure 22, 25, 40 fps; a screen
 * capture's rate changes with what moves), and a different init makes a segment a discontinuity. So
 * every stream declares the same nominal rate; players time frames by their timestamps, never by this.
 */
export const DECLARED_FPS = 30;

export class CmafWriter {
  readonly #opts: CmafWriterOptions;
  readonly #parts: Buffer[] = [];
  readonly #encoder: Encoder;
  readonly #muxer: Muxer;
  readonly #videoIndex: number;
  readonly #audioIndex: number;
  #muxerOpen = true;
  #closed = false;
  /**
   * One input frame and one output packet for the whole segment: node-av keeps some native memory behind
   * every frame or packet wrapper it creates (gpu-pool/README "node-av notes"), so none is made per frame.
   */
  #frame: Frame | null = null;
  readonly #packet: Packet;

  constructor(options: CmafWriterOptions) {
    this.#opts = options;
    this.#packet = new Packet();
    this.#packet.alloc();
        this.#encoder = Encoder.createSync(FF_ENCODER_LIBX264, {
      // One thread per worker: the pool runs one worker per core.
      threadCount: 1,
      // One keyframe per segment (its first frame): every segment starts independently decodable.
      context: { gopSize: 1 << 20, framerate: new Rational(DECLARED_FPS, 1) },
      // Private x264 options are set on the context here rather than through `options`: node-av
      // 6.1.1 frees that dictionary twice after avcodec_open2 consumed it (a crash at the next GC).
      configure: (context) => {
        for (const [name, value] of X264_OPTIONS) {
          const code = context.setOption(name, value);
          if (code < 0) throw new Error(`libx264 option ${name}=${value} was refused (${code})`);
        }
      },
    });
    this.#muxer = Muxer.openSync(
      {
        write: (chunk: Buffer) => {
          // libav reuses its buffer after the callback returns: keep a copy.
          this.#parts.push(Buffer.from(chunk));
          return chunk.length;
        },
      },
      // A small I/O buffer: node-av 6.1.1 never frees the buffer of a muxer over callbacks (32 KB by
      // default, per segment: gpu-pool/README "node-av notes"); 4 KB leaves ≈ 5 KB behind.
      { format: 'mp4', bufferSize: MUX_BUFFER_BYTES, useSyncQueue: USE_SYNC_QUEUE, options: { movflags: MOVFLAGS } },
    );
    this.#videoIndex = this.#muxer.addStream(this.#encoder);
    this.#audioIndex = -1;
    if (options.audio) {
      this.#audioIndex = this.#muxer.addStream(options.audio);
      // The demuxer's measured bit rate differs per chunk and would make every init segment unique.
      this.#muxer.getStream(this.#audioIndex)!.codecpar.bitRate = 0n;
    } else if (options.silence) {
      this.#audioIndex = options.silence.addTrack(this.#muxer);
    }
  }

  /** Encodes one packed yuv420p frame (`width`×`height`) at `pts` (in `timeBase` units). */
  writeFrame(yuv: Uint8Array, pts: bigint): void {
    const { width, height, timeBase } = this.#opts;
    const buffer = Buffer.from(yuv.buffer, yuv.byteOffset, yuv.byteLength);
    const tb = new Rational(timeBase.num, timeBase.den);
    if (!this.#frame) {
      // The first frame opens the encoder (node-av takes the picture's format from it).
      this.#frame = Frame.fromVideoBuffer(buffer, { width, height, format: AV_PIX_FMT_YUV420P, timeBase: tb, pts });
      this.#encoder.encodeSync(this.#frame);
    } else {
      const frame = this.#frame;
      const codec = this.#codec();
      // The encoder may still hold the previous picture: a fresh buffer then, never a shared one overwritten.
      if (frame.makeWritable() < 0 || frame.fromBuffer(buffer) < 0) throw new Error('the encoder frame could not take the next picture');
      // As node-av's encodeSync prepares a frame: the encoder decides the picture type; its time base.
      frame.pictType = AV_PICTURE_TYPE_NONE;
      frame.pts = avRescaleQ(pts, tb, codec.timeBase);
      frame.timeBase = codec.timeBase;
      frame.duration = 1n;
      const ret = codec.sendFrameSync(frame);
      if (ret < 0 && ret !== AVERROR_EOF) throw new Error(`libx264 refused a frame (${ret})`);
    }
    this.#drain();
  }

  #codec() {
    const codec = this.#encoder.getCodecContext();
    if (!codec) throw new Error('the encoder is not open');
    return codec;
  }

  /** Muxes every packet the encoder has ready, through the one packet. */
  #drain(): void {
    const codec = this.#codec();
    const packet = this.#packet;
    while (codec.receivePacketSync(packet) === 0) {
      packet.timeBase = codec.timeBase;
      this.#muxer.writePacketSync(packet, this.#videoIndex);
      packet.unref();
    }
  }

  /** Copies one audio packet of the chunk. Packets without an audio track are dropped. */
  writeAudio(packet: Packet): void {
    if (this.#audioIndex >= 0 && this.#opts.audio) this.#muxer.writePacketSync(packet, this.#audioIndex);
  }

  /** Fills the silent track (when there is one) for `[from, to)` in seconds. */
  writeSilence(from: number, to: number): void {
    if (this.#audioIndex >= 0 && !this.#opts.audio) this.#opts.silence?.write(this.#muxer, this.#audioIndex, from, to, this.#packet);
  }

  /** Flushes the encoder and the muxer; returns the init segment and the media segment. */
  finish(): CmafSegment {
    if (this.#frame) {
      this.#codec().sendFrameSync(null);
      this.#drain();
    }
    this.#muxerOpen = false;
    this.#muxer.closeSync();
    this.close();
    const { init, media } = splitInit(Buffer.concat(this.#parts));
    return { init, media, codecs: codecsOf(init) };
  }

  /** Frees the encoder and muxer (after finish, or on failure). Safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#frame?.free();
    this.#frame = null;
    this.#packet.free();
    this.#encoder.close();
    if (this.#muxerOpen) {
      this.#muxerOpen = false;
      this.#muxer.closeSync();
    }
  }
}
