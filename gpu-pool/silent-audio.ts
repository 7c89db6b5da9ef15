/**
 * Silence for a segment whose chunk has no sound, so that every segment carries the same tracks.
 *
 * Media Source Extensions cannot add a track to a SourceBuffer after its first init segment (Chrome:
 * "Got unexpected audio track"), and HLS players take a rendition's tracks from its first segment. Yet
 * a chunk may have no sound while its neighbours do: a capture's sound can start after its picture (the
 * first 0.5-s chunk then has none), a file can have a silent stretch cut as its own piece. So a chunk
 * without sound gets a silent AAC track: AAC-LC, 48 kHz stereo, what capture devices deliver.
 *
 * A frame of digital silence encodes to the same few bytes every time once the encoder is past its
 * first frame. So one worker encodes a few frames once, into a small MP4 it then opens: the track is
 * added to each segment as a copied stream (exactly as a chunk's own sound), and a segment's silence is
 * the steady packet repeated — no encoder per chunk. Packets lie on a global grid of 1024-sample frames
 * and a segment takes those that start inside it, so consecutive silent segments tile the timeline.
 */
import { type Demuxer, Encoder, Muxer } from 'node-av/api';
import { type FormatContext, Frame, Packet, Rational, type Stream } from 'node-av/lib';
import { AV_CHANNEL_LAYOUT_STEREO, AV_PKT_FLAG_KEY, AV_SAMPLE_FMT_FLTP, FF_ENCODER_AAC } from 'node-av/constants';
import { copyTrack } from './libav-track.ts';
import { demuxFromFile } from './scratch.ts';

export const SILENCE_SAMPLE_RATE = 48_000;
/** Samples per AAC-LC frame. */
const FRAME_SAMPLES = 1024;
/** Frames encoded once (the steady packet is the second with libav's encoder). */
const ENCODED_FRAMES = 8;

export class SilentAudio {
  /** The small MP4 of silence, kept open: its stream describes the track. */
  readonly #demuxer: Demuxer;
  readonly #stream: Stream;
  /** The encoded bytes of one frame of silence. */
  readonly #payload: Buffer;
  #closed = false;

  /**
   * Encodes the silence into a file in `dir` (opened, then unlinked). Kept open over memory instead, a
   * demuxer aborts the process when its worker thread is terminated (node-av 6.1.1: its memory I/O is
   * torn down with the thread's environment); through a file it closes cleanly. Throws when the file
   * cannot be written.
   */
  constructor(dir: string) {
    const demuxer = demuxFromFile(encodeSilence(), dir, 'silence');
    if (!demuxer) throw new Error(`silence could not be written to ${dir}`);
    this.#demuxer = demuxer;
    try {
      const stream = this.#demuxer.audio();
      if (!stream) throw new Error('the encoded silence has no audio stream');
      this.#stream = stream;
      this.#payload = steadyPacket(this.#demuxer);
    } catch (error) {
      this.#demuxer.closeSync();
      throw error;
    }
  }

  /** Adds the silent track to an mp4 muxer's format context (before its header is written). */
  addTrack(format: FormatContext): Stream {
    // As a chunk's own sound (no measured bit rate in the init segment); and silence needs no encoder
    // priming (no edit list shifting the track).
    const track = copyTrack(format, this.#stream);
    track.codecpar.initialPadding = 0;
    return track;
  }

  /**
   * The silence for `[from, to)` (seconds): the grid's frames that start in it, each filled into `packet`
   * (the caller's one reusable packet) and handed to `mux` with its time base.
   */
  write(from: number, to: number, packet: Packet, mux: (packet: Packet, timeBase: Rational) => void): void {
    const first = Math.ceil((from * SILENCE_SAMPLE_RATE) / FRAME_SAMPLES);
    const end = Math.ceil((to * SILENCE_SAMPLE_RATE) / FRAME_SAMPLES);
    const timeBase = new Rational(1, SILENCE_SAMPLE_RATE);
    for (let k = first; k < end; k++) {
      packet.data = this.#payload;
      packet.pts = BigInt(k * FRAME_SAMPLES);
      packet.dts = packet.pts;
      packet.duration = BigInt(FRAME_SAMPLES);
      packet.flags = AV_PKT_FLAG_KEY;
      mux(packet, timeBase);
      packet.unref();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#demuxer.closeSync();
  }
}

/** A few frames of silence, AAC in MP4, in memory. */
function encodeSilence(): Buffer {
  const parts: Buffer[] = [];
  const encoder = Encoder.createSync(FF_ENCODER_AAC, { context: { bitRate: 64_000n } });
  const muxer = Muxer.openSync(
    {
      write: (chunk: Buffer) => {
        parts.push(Buffer.from(chunk));
        return chunk.length;
      },
    },
    { format: 'mp4', options: { movflags: '+frag_keyframe+empty_moov' } },
  );
  const zeros = Buffer.alloc(FRAME_SAMPLES * 2 * 4);
  try {
    const index = muxer.addStream(encoder);
    for (let i = 0; i <= ENCODED_FRAMES; i++) {
      const frame =
        i < ENCODED_FRAMES
          ? Frame.fromAudioBuffer(zeros, {
              nbSamples: FRAME_SAMPLES,
              format: AV_SAMPLE_FMT_FLTP,
              sampleRate: SILENCE_SAMPLE_RATE,
              channelLayout: AV_CHANNEL_LAYOUT_STEREO,
              timeBase: { num: 1, den: SILENCE_SAMPLE_RATE },
              pts: BigInt(i * FRAME_SAMPLES),
            })
          : null;
      try {
        for (const packet of encoder.encodeAllSync(frame)) {
          muxer.writePacketSync(packet, index);
          packet.free();
        }
      } finally {
        frame?.free();
      }
    }
  } finally {
    muxer.closeSync();
    encoder.close();
  }
  return Buffer.concat(parts);
}

/** The first packet whose bytes repeat in the next one: the encoding of a frame of silence. */
function steadyPacket(demuxer: Demuxer): Buffer {
  const format = demuxer.getFormatContext();
  const packet = new Packet();
  packet.alloc();
  try {
    let previous: Buffer | null = null;
    while (format.readFrameSync(packet) >= 0) {
      const bytes = Buffer.from(packet.data ?? Buffer.alloc(0));
      packet.unref();
      if (previous && bytes.length > 0 && bytes.equals(previous)) return bytes;
      previous = bytes;
    }
    throw new Error('the AAC encoder gave no steady packet for silence');
  } finally {
    packet.free();
  }
}
