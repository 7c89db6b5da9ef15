/**
 * Encodes stereo frames with x264 and muxes them, with the chunk's audio copied (or silence where it has
 * none), into one CMAF segment in memory (libav in-process via node-av). Frames keep the chunk's own
 * timestamps, and `frag_discont` + `default_base_moof` put the real start time in each fragment's
 * `tfdt`, so consecutive segments continue one timeline however they were produced. The init segment
 * (ftyp+moov) carries no per-chunk values (the audio bit rate is cleared), so every chunk of one
 * format yields the same init bytes and a session shares one.
 *
 * libav's mp4 muxer is driven directly (format context, streams, interleaved writes), not through
 * node-av's `Muxer`: that one gives every segment an I/O context over callbacks whose buffer it never
 * frees and, with a copied stream, passes every packet through a "sync queue" that kept ≈ 120 bytes per
 * packet (≈ 22 KiB of native memory per 2-s chunk with sound together; gpu-pool/README "node-av notes").
 * Here the bytes leave through the worker's `SegmentOutput` (a file per segment), and packets go
 * straight to libav's own interleaving.
 */
import { Encoder } from 'node-av/api';
import { avRescaleQ, FormatContext, Frame, Packet, Rational, type Stream } from 'node-av/lib';
import {
  AV_CODEC_FLAG_GLOBAL_HEADER,
  AV_PICTURE_TYPE_NONE,
  AV_PIX_FMT_YUV420P,
  AVERROR_EOF,
  AVFMT_FLAG_CUSTOM_IO,
  FF_ENCODER_LIBX264,
} from 'node-av/constants';
import { codecsOf, splitInit } from './cmaf.ts';
import { check, copyTrack } from './libav-track.ts';
import type { SegmentOutput } from './segment-output.ts';
import type { SilentAudio } from './silent-audio.ts';

export interface CmafWriterOptions {
  width: number;
  height: number;
  timeBase: { num: number; den: number };
  /** The worker's output the segment's bytes leave through (one segment at a time: segment-output.ts). */
  output: SegmentOutput;
  /** The chunk's audio stream, copied as it is. */
  audio?: Stream | undefined;
  /** Without `audio`: a silent track from this (see silent-audio.ts); neither: a segment without sound. */
  silence?: SilentAudio | undefined;
  /** H.264 frame-packing arrangement SEI in every keyframe (3 side by side, 4 top-bottom), for 3D TVs; null: none. */
  framePacking?: 3 | 4 | null;
}

export interface CmafSegment {
  init: Uint8Array;
  media: Uint8Array;
  codecs: string;
}

/** Fast, no lookahead, constant quality (node-av's default is a 1 Mb/s average, wrong for most sizes). */
const X264_OPTIONS: ReadonlyArray<[string, string]> = [
  ['preset', 'ultrafast'],
  ['tune', 'zerolatency'],
  ['crf', '23'],
];
const MOVFLAGS = '+cmaf+frag_keyframe+empty_moov+default_base_moof+frag_discont+skip_trailer';

/**
 * The frame rate written into the SPS (VUI timing) — part of the init segment, so it must not follow a
 * chunk's measured rate: that varies (a browser recorder's pieces measure 22, 25, 40 fps; a screen
 * capture's rate changes with what moves), and a different init makes a segment a discontinuity. So
 * every stream declares the same nominal rate; players time frames by their timestamps, never by this.
 */
export const DECLARED_FPS = 30;

export class CmafWriter {
  readonly #opts: CmafWriterOptions;
  readonly #encoder: Encoder;
  readonly #format: FormatContext;
  readonly #video: Stream;
  /** The segment's audio track (the chunk's sound or silence); null: none. */
  readonly #audio: Stream | null;
  #headerWritten = false;
  #formatOpen = true;
  #lent = true;
  #closed = false;
  /**
   * One input frame and one output packet for the whole segment: node-av keeps some native memory behind
   * every frame or packet wrapper it creates (gpu-pool/README "node-av notes"), so none is made per frame.
   */
  #frame: Frame | null = null;
  readonly #packet: Packet;

  constructor(options: CmafWriterOptions) {
    this.#opts = options;
    const io = options.output.lend();
    this.#packet = new Packet();
    this.#packet.alloc();
    this.#format = new FormatContext();
    try {
      this.#encoder = Encoder.createSync(FF_ENCODER_LIBX264, {
        // One thread per worker: the pool runs one worker per core.
        threadCount: 1,
        // One keyframe per segment (its first frame): every segment starts independently decodable.
        context: { gopSize: 1 << 20, framerate: new Rational(DECLARED_FPS, 1) },
        // Private x264 options are set on the context here rather than through `options`: node-av
        // 6.1.1 frees that dictionary twice after avcodec_open2 consumed it (a crash at the next GC).
        configure: (context) => {
          for (const [name, value] of X264_OPTIONS) check(context.setOption(name, value), `libx264 option ${name}=${value} was refused`);
          if (options.framePacking)
            check(context.setOption('x264-params', `frame-packing=${options.framePacking}`), 'libx264 refused the frame-packing SEI');
        },
      });
      // mp4 keeps the parameter sets in its init segment (avcC), not in the stream.
      this.#encoder.setCodecFlags(AV_CODEC_FLAG_GLOBAL_HEADER);
      check(this.#format.allocOutputContext2(null, 'mp4', null), 'the mp4 muxer could not be made');
      check(this.#format.setOption('movflags', MOVFLAGS), 'the mp4 muxer refused its flags');
      this.#format.pb = io;
      this.#format.setFlags(AVFMT_FLAG_CUSTOM_IO);
      // The video stream's parameters come from the encoder, which opens with the first frame.
      this.#video = this.#format.newStream(null);
      this.#audio = options.audio
        ? copyTrack(this.#format, options.audio)
        : options.silence
          ? options.silence.addTrack(this.#format)
          : null;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** Encodes one packed yuv420p frame (`width`×`height`) at `pts` (in `timeBase` units). */
  writeFrame(yuv: Uint8Array, pts: bigint): void {
    const { width, height, timeBase } = this.#opts;
    const buffer = Buffer.from(yuv.buffer, yuv.byteOffset, yuv.byteLength);
    const tb = new Rational(timeBase.num, timeBase.den);
    if (!this.#frame) {
      // The first frame opens the encoder (node-av takes the picture's format from it); then the
      // header can be written, with the encoder's parameters.
      this.#frame = Frame.fromVideoBuffer(buffer, { width, height, format: AV_PIX_FMT_YUV420P, timeBase: tb, pts });
      this.#encoder.encodeSync(this.#frame);
      this.#writeHeader();
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

  #writeHeader(): void {
    const codec = this.#codec();
    const video = this.#video;
    check(video.codecpar.fromContext(codec), 'the encoder parameters could not be copied');
    video.timeBase = codec.timeBase;
    video.avgFrameRate = codec.framerate;
    check(this.#format.writeHeaderSync(), 'the mp4 header could not be written');
    this.#headerWritten = true;
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
    while (codec.receivePacketSync(packet) === 0) this.#mux(packet, codec.timeBase, this.#video);
  }

  /**
   * Hands `packet` (its timestamps in `from`) to libav's interleaving for `stream`; libav takes its
   * data, the packet is left blank for reuse.
   */
  #mux(packet: Packet, from: Rational, stream: Stream): void {
    if (!this.#headerWritten) throw new Error('a packet before the first picture');
    packet.rescaleTs(from, stream.timeBase);
    packet.streamIndex = stream.index;
    check(this.#format.interleavedWriteFrameSync(packet), 'the muxer refused a packet');
  }

  /** Copies one audio packet of the chunk (its time base: the chunk's audio stream's). Dropped without that track. */
  writeAudio(packet: Packet): void {
    const source = this.#opts.audio;
    if (this.#audio && source) this.#mux(packet, source.timeBase, this.#audio);
  }

  /** Fills the silent track (when there is one) for `[from, to)` in seconds. */
  writeSilence(from: number, to: number): void {
    const audio = this.#audio;
    if (!audio || this.#opts.audio) return;
    this.#opts.silence?.write(from, to, this.#packet, (packet, timeBase) => this.#mux(packet, timeBase, audio));
  }

  /** Flushes the encoder and the muxer; returns the init segment and the media segment. */
  finish(): CmafSegment {
    try {
      if (!this.#frame) throw new Error('no picture was written');
      this.#codec().sendFrameSync(null);
      this.#drain();
      check(this.#format.writeTrailerSync(), 'the segment could not be finished');
      this.#closeFormat();
      const { init, media } = splitInit(this.#giveBack());
      return { init, media, codecs: codecsOf(init) };
    } finally {
      this.close();
    }
  }

  #closeFormat(): void {
    if (!this.#formatOpen) return;
    this.#formatOpen = false;
    // The I/O context is the output's: detached first, so freeing the format context leaves it alone.
    this.#format.pb = null;
    this.#format.freeContext();
  }

  #giveBack(): Buffer {
    this.#lent = false;
    return this.#opts.output.giveBack();
  }

  /** Frees the encoder and the muxer and gives the output back (after finish, or on failure). Safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#frame?.free();
    this.#frame = null;
    this.#packet.free();
    // Absent when its creation failed.
    (this.#encoder as Encoder | undefined)?.close();
    this.#closeFormat();
    // What a segment that failed half-way wrote is dropped here.
    if (this.#lent) {
      this.#lent = false;
      this.#opts.output.drop();
    }
  }
}
