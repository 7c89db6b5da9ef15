/**
 * H.264 in and out, one frame at a time, for the live converter: libav's decoder taking Annex B access
 * units (parameter sets in-band, so it can start at any keyframe) and x264 giving Annex B back with no
 * delay — no B-frames, no lookahead (`zerolatency`), one frame in → one access unit out, its parameter
 * sets repeated at every keyframe (no global header), so a viewer may join at any keyframe. Timestamps
 * are µs of the capture clock throughout (time base 1/1 000 000), carried from input to output.
 *
 * libav's contexts are driven directly (node-av/lib), with one frame and one packet reused for the
 * whole stream: nothing is allocated per frame (gpu-pool/README "node-av notes").
 */
import {
  AV_CODEC_ID_H264,
  AV_PICTURE_TYPE_I,
  AV_PICTURE_TYPE_NONE,
  AV_PIX_FMT_YUV420P,
  AVERROR_EAGAIN,
  AVERROR_EOF,
  FF_ENCODER_LIBX264,
} from 'node-av/constants';
import { Codec, CodecContext, Frame, Packet, Rational } from 'node-av/lib';
import { check } from './libav-track.ts';

/** µs: the capture clock's unit, and the live path's time base. */
const MICROS = new Rational(1, 1_000_000);
/** The frame rate declared in the SPS (players time frames by their timestamps, never by this). */
const DECLARED_FPS = 30;
const X264_OPTIONS: ReadonlyArray<[string, string]> = [
  ['preset', 'ultrafast'],
  ['tune', 'zerolatency'],
  ['crf', '23'],
];

/** A codec context with the one frame and one packet it uses for the whole stream; `close()` frees all three. */
abstract class StreamCodec {
  protected readonly context = new CodecContext();
  protected readonly frame = new Frame();
  protected readonly packet = new Packet();
  protected closed = false;

  /** Frees the context, the frame and the packet. Safe twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.frame.free();
    this.packet.free();
    this.context.freeContext();
  }
}

/** Decodes Annex B access units; each decoded picture is lent to `onFrame` until it returns. */
export class LiveDecoder extends StreamCodec {
  constructor() {
    super();
    const codec = Codec.findDecoder(AV_CODEC_ID_H264);
    if (!codec) throw new Error('this libav has no H.264 decoder');
    this.context.allocContext3(codec);
    this.context.threadCount = 1;
    this.context.pktTimebase = MICROS;
    check(this.context.open2Sync(codec), 'the H.264 decoder could not be opened');
    this.packet.alloc();
    this.frame.alloc();
  }

  /**
   * One access unit (captured at `time` µs). Resolves nothing; pictures go to `onFrame` with their time.
   * Returns false when the decoder refused the unit (corrupt, or not a stream it can start from yet).
   */
  decode(unit: Uint8Array, time: number, onFrame: (frame: Frame, time: number) => void): boolean {
    if (this.closed) return false;
    const packet = this.packet;
    packet.data = Buffer.from(unit.buffer, unit.byteOffset, unit.byteLength);
    packet.pts = BigInt(Math.round(time));
    packet.dts = packet.pts;
    const sent = this.context.sendPacketSync(packet);
    packet.unref();
    if (sent < 0 && sent !== AVERROR_EAGAIN) return false;
    for (;;) {
      const got = this.context.receiveFrameSync(this.frame);
      if (got === AVERROR_EAGAIN || got === AVERROR_EOF) break;
      if (got < 0) return false;
      onFrame(this.frame, Number(this.frame.pts));
      this.frame.unref();
    }
    return true;
  }
}

/** One encoded access unit. */
export interface EncodedUnit {
  data: Uint8Array;
  time: number;
  key: boolean;
}

/** Encodes packed yuv420p pictures of one size into Annex B access units, one out per picture in. */
export class LiveEncoder extends StreamCodec {
  readonly width: number;
  readonly height: number;

  /** `framePacking`: the H.264 frame-packing SEI (3 side by side, 4 top-bottom) in every keyframe; null: none. */
  constructor(width: number, height: number, framePacking: 3 | 4 | null = null) {
    super();
    this.width = width;
    this.height = height;
    const codec = Codec.findEncoderByName(FF_ENCODER_LIBX264);
    if (!codec) throw new Error('this libav has no libx264 encoder');
    const context = this.context;
    context.allocContext3(codec);
    context.width = width;
    context.height = height;
    context.pixelFormat = AV_PIX_FMT_YUV420P;
    context.timeBase = MICROS;
    context.framerate = new Rational(DECLARED_FPS, 1);
    // A keyframe only when asked (a viewer joins) or every `forceKeyframe` the caller decides.
    context.gopSize = 1 << 20;
    context.maxBFrames = 0;
    context.threadCount = 1;
    for (const [name, value] of X264_OPTIONS) check(context.setOption(name, value), `libx264 option ${name}=${value} was refused`);
    if (framePacking) check(context.setOption('x264-params', `frame-packing=${framePacking}`), 'libx264 refused the frame-packing SEI');
    check(context.open2Sync(codec), 'libx264 could not be opened');
    this.frame.alloc();
    this.frame.width = width;
    this.frame.height = height;
    this.frame.format = AV_PIX_FMT_YUV420P;
    check(this.frame.getBuffer(), 'the encoder frame could not be allocated');
    this.packet.alloc();
  }

  /** Encodes one picture captured at `time` µs (`keyframe`: an IDR picture, e.g. for a viewer that joined). */
  encode(yuv: Uint8Array, time: number, keyframe: boolean): EncodedUnit[] {
    if (this.closed) return [];
    const frame = this.frame;
    // The encoder may still reference the previous picture: a fresh buffer then, never one overwritten.
    if (frame.makeWritable() < 0 || frame.fromBuffer(Buffer.from(yuv.buffer, yuv.byteOffset, yuv.byteLength)) < 0)
      throw new Error('the encoder frame could not take the next picture');
    frame.pts = BigInt(Math.round(time));
    frame.timeBase = MICROS;
    frame.pictType = keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    const sent = this.context.sendFrameSync(frame);
    if (sent < 0) throw new Error(`libx264 refused a frame (${sent})`);
    const out: EncodedUnit[] = [];
    while (this.context.receivePacketSync(this.packet) === 0) {
      const packet = this.packet;
      const data = packet.data;
      if (data) out.push({ data: new Uint8Array(data), time: Number(packet.pts), key: packet.isKeyframe });
      packet.unref();
    }
    return out;
  }
}
