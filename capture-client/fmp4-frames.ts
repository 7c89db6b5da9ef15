/**
 * Splits a fragmented MP4 byte stream (ffmpeg's `-movflags +frag_every_frame+empty_moov+default_base_moof`
 * on a pipe) into the stream's configuration and its frames, as the bytes arrive: the `moov` gives each
 * track's codec, size and description (avcC, AudioSpecificConfig); every `moof` + `mdat` pair gives
 * samples with their decode time, duration, composition offset and sync flag. Nothing is buffered
 * beyond the box being read, and a box larger than MAX_BOX is refused (the stream is not what we made).
 *
 * Only what ffmpeg's mp4 muxer writes for H.264 + AAC is read; anything else is an error naming it.
 */

/** The largest box taken whole (an mdat of one frame; the moov). */
const MAX_BOX = 8 * 1024 * 1024;

export interface Fmp4Track {
  id: number;
  kind: 'video' | 'audio';
  timescale: number;
  /** video */
  width?: number;
  height?: number;
  /** avcC (video) or AudioSpecificConfig (audio). */
  description: Uint8Array;
  /** audio */
  sampleRate?: number;
  channels?: number;
}

export interface Fmp4Sample {
  track: Fmp4Track;
  /** Presentation time in µs of media time (decode time + composition offset). */
  time: number;
  /** µs */
  duration: number;
  key: boolean;
  data: Uint8Array;
}

type Box = { type: string; start: number; end: number; body: number };

/** The boxes in `bytes[from, to)`. */
function boxes(bytes: Uint8Array, from: number, to: number): Box[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    let body = at + 8;
    if (size === 1) {
      size = Number(view.getBigUint64(at + 8));
      body = at + 16;
    } else if (size === 0) size = to - at;
    if (size < body - at || at + size > to) throw new Error(`fMP4: box ${type} overruns its parent`);
    out.push({ type, start: at, end: at + size, body });
    at += size;
  }
  return out;
}

function child(bytes: Uint8Array, parent: Box, type: string, skip = 0): Box | undefined {
  return boxes(bytes, parent.body + skip, parent.end).find((b) => b.type === type);
}

function path(bytes: Uint8Array, parent: Box, types: string[]): Box | undefined {
  let box: Box | undefined = parent;
  for (const type of types) {
    if (!box) return undefined;
    box = child(bytes, box, type);
  }
  return box;
}

/** The DecoderSpecificInfo inside an esds (MPEG-4 descriptors: tag, variable length, body). */
function audioSpecificConfig(bytes: Uint8Array, esds: Box): Uint8Array {
  let at = esds.body + 4; // version + flags
  const end = esds.end;
  const readLength = () => {
    let length = 0;
    for (let i = 0; i < 4; i++) {
      const b = bytes[at++]!;
      length = (length << 7) | (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
    return length;
  };
  while (at < end) {
    const tag = bytes[at++]!;
    const length = readLength();
    if (tag === 0x03) {
      at += 3; // ES_ID, flags (no dependsOn/URL/OCR with ffmpeg)
      continue;
    }
    if (tag === 0x04) {
      at += 13; // objectType, streamType, bufferSize, maxBitrate, avgBitrate
      continue;
    }
    if (tag === 0x05) return bytes.slice(at, at + length);
    at += length;
  }
  throw new Error('fMP4: the audio track has no AudioSpecificConfig');
}

function readTrack(bytes: Uint8Array, trak: Box): Fmp4Track | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tkhd = child(bytes, trak, 'tkhd');
  const mdhd = path(bytes, trak, ['mdia', 'mdhd']);
  const hdlr = path(bytes, trak, ['mdia', 'hdlr']);
  const stsd = path(bytes, trak, ['mdia', 'minf', 'stbl', 'stsd']);
  if (!tkhd || !mdhd || !hdlr || !stsd) throw new Error('fMP4: a track lacks tkhd, mdhd, hdlr or stsd');
  const id = view.getUint32(tkhd.body + (bytes[tkhd.body] === 1 ? 20 : 12));
  const timescale = view.getUint32(mdhd.body + (bytes[mdhd.body] === 1 ? 20 : 12));
  const handler = String.fromCharCode(...bytes.subarray(hdlr.body + 8, hdlr.body + 12));
  const entry = boxes(bytes, stsd.body + 8, stsd.end)[0];
  if (!entry) throw new Error('fMP4: an empty sample description');
  if (handler === 'vide') {
    if (entry.type !== 'avc1') throw new Error(`fMP4: video must be H.264 (avc1), not ${entry.type}`);
    // VisualSampleEntry: 6 reserved + 2 index + 16 predefined/reserved, then width, height; 78 bytes before its boxes.
    const width = view.getUint16(entry.body + 24);
    const height = view.getUint16(entry.body + 26);
    const avcC = boxes(bytes, entry.body + 78, entry.end).find((b) => b.type === 'avcC');
    if (!avcC) throw new Error('fMP4: the H.264 track has no avcC');
    return { id, kind: 'video', timescale, width, height, description: bytes.slice(avcC.body, avcC.end) };
  }
  if (handler === 'soun') {
    if (entry.type !== 'mp4a') throw new Error(`fMP4: audio must be AAC (mp4a), not ${entry.type}`);
    // AudioSampleEntry: 6 reserved + 2 index + 8 reserved, channels, sample size, 4 reserved, rate 16.16; 28 bytes.
    const channels = view.getUint16(entry.body + 16);
    const sampleRate = view.getUint32(entry.body + 24) >>> 16;
    const esds = boxes(bytes, entry.body + 28, entry.end).find((b) => b.type === 'esds');
    if (!esds) throw new Error('fMP4: the AAC track has no esds');
    return { id, kind: 'audio', timescale, sampleRate, channels, description: audioSpecificConfig(bytes, esds) };
  }
  return null; // another kind of track (data, subtitles): ignored
}

/** trun/tfhd flags. */
const TFHD_BASE_OFFSET = 0x1;
const TFHD_DESCRIPTION = 0x2;
const TFHD_DURATION = 0x8;
const TFHD_SIZE = 0x10;
const TFHD_FLAGS = 0x20;
const TRUN_DATA_OFFSET = 0x1;
const TRUN_FIRST_FLAGS = 0x4;
const TRUN_DURATION = 0x100;
const TRUN_SIZE = 0x200;
const TRUN_FLAGS = 0x400;
const TRUN_CTO = 0x800;
const NON_SYNC = 0x10000;

export class Fmp4Frames {
  /** The tracks, once the moov was read. */
  tracks: Fmp4Track[] | null = null;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** The moof waiting for its mdat. */
  #moof: Uint8Array | null = null;
  readonly #onConfig: (tracks: Fmp4Track[]) => void;
  readonly #onSample: (sample: Fmp4Sample) => void;

  constructor(onConfig: (tracks: Fmp4Track[]) => void, onSample: (sample: Fmp4Sample) => void) {
    this.#onConfig = onConfig;
    this.#onSample = onSample;
  }

  /** Takes the next bytes of the stream; throws when it is not the fMP4 described above. */
  push(chunk: Uint8Array): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.byteLength;
    for (;;) {
      if (this.#pendingBytes < 8) return;
      const head = this.#peek(16);
      const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
      let size = view.getUint32(0);
      if (size === 1) {
        if (head.byteLength < 16) return;
        size = Number(view.getBigUint64(8));
      }
      const type = String.fromCharCode(head[4]!, head[5]!, head[6]!, head[7]!);
      if (size < 8 || size > MAX_BOX) throw new Error(`fMP4: a ${type} box of ${size} bytes`);
      if (this.#pendingBytes < size) return;
      this.#box(type, this.#take(size));
    }
  }

  #peek(n: number): Uint8Array {
    const first = this.#pending[0]!;
    if (first.byteLength >= n || this.#pending.length === 1) return first.subarray(0, Math.min(n, first.byteLength));
    this.#pending = [concat(this.#pending, this.#pendingBytes)];
    return this.#pending[0]!.subarray(0, n);
  }

  #take(n: number): Uint8Array {
    const all = this.#pending.length === 1 ? this.#pending[0]! : concat(this.#pending, this.#pendingBytes);
    const box = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#pending = rest.byteLength > 0 ? [rest] : [];
    this.#pendingBytes = rest.byteLength;
    return box;
  }

  #box(type: string, bytes: Uint8Array): void {
    if (type === 'moov') {
      const [moov] = boxes(bytes, 0, bytes.byteLength);
      const tracks = boxes(bytes, moov!.body, moov!.end)
        .filter((b) => b.type === 'trak')
        .map((trak) => readTrack(bytes, trak))
        .filter((t): t is Fmp4Track => t !== null);
      if (!tracks.some((t) => t.kind === 'video')) throw new Error('fMP4: no video track');
      this.tracks = tracks;
      this.#onConfig(tracks);
    } else if (type === 'moof') {
      this.#moof = bytes.slice();
    } else if (type === 'mdat') {
      if (this.#moof) this.#samples(this.#moof, bytes);
      this.#moof = null;
    }
  }

  /** The samples of one fragment (moof, then the mdat that follows it: offsets are from the moof's start). */
  #samples(moofBytes: Uint8Array, mdat: Uint8Array): void {
    if (!this.tracks) throw new Error('fMP4: a fragment before the moov');
    const view = new DataView(moofBytes.buffer, moofBytes.byteOffset, moofBytes.byteLength);
    const [moof] = boxes(moofBytes, 0, moofBytes.byteLength);
    for (const traf of boxes(moofBytes, moof!.body, moof!.end).filter((b) => b.type === 'traf')) {
      const tfhd = child(moofBytes, traf, 'tfhd');
      const tfdt = child(moofBytes, traf, 'tfdt');
      const trun = child(moofBytes, traf, 'trun');
      if (!tfhd || !trun) continue;
      const tfhdFlags = view.getUint32(tfhd.body) & 0xffffff;
      const track = this.tracks.find((t) => t.id === view.getUint32(tfhd.body + 4));
      if (!track) continue;
      let at = tfhd.body + 8;
      if (tfhdFlags & TFHD_BASE_OFFSET) at += 8;
      if (tfhdFlags & TFHD_DESCRIPTION) at += 4;
      const defaultDuration = tfhdFlags & TFHD_DURATION ? view.getUint32(at) : 0;
      if (tfhdFlags & TFHD_DURATION) at += 4;
      const defaultSize = tfhdFlags & TFHD_SIZE ? view.getUint32(at) : 0;
      if (tfhdFlags & TFHD_SIZE) at += 4;
      const defaultFlags = tfhdFlags & TFHD_FLAGS ? view.getUint32(at) : 0;
      let decodeTime = 0;
      if (tfdt) decodeTime = moofBytes[tfdt.body] === 1 ? Number(view.getBigUint64(tfdt.body + 4)) : view.getUint32(tfdt.body + 4);
      const version = moofBytes[trun.body]!;
      const trunFlags = view.getUint32(trun.body) & 0xffffff;
      const count = view.getUint32(trun.body + 4);
      at = trun.body + 8;
      // Offsets count from the moof's first byte; the mdat's payload starts after the moof and its header.
      let offset = moofBytes.byteLength + 8;
      if (trunFlags & TRUN_DATA_OFFSET) {
        offset = view.getInt32(at);
        at += 4;
      }
      let firstFlags: number | null = null;
      if (trunFlags & TRUN_FIRST_FLAGS) {
        firstFlags = view.getUint32(at);
        at += 4;
      }
      for (let i = 0; i < count; i++) {
        const duration = trunFlags & TRUN_DURATION ? view.getUint32((at += 4) - 4) : defaultDuration;
        const size = trunFlags & TRUN_SIZE ? view.getUint32((at += 4) - 4) : defaultSize;
        let flags = trunFlags & TRUN_FLAGS ? view.getUint32((at += 4) - 4) : defaultFlags;
        if (i === 0 && firstFlags !== null) flags = firstFlags;
        const cto = trunFlags & TRUN_CTO ? (version === 0 ? view.getUint32((at += 4) - 4) : view.getInt32((at += 4) - 4)) : 0;
        const start = offset - moofBytes.byteLength; // into the mdat box
        if (start < 8 || start + size > mdat.byteLength) throw new Error('fMP4: a sample outside its mdat');
        const micros = (ticks: number) => Math.round((ticks * 1e6) / track.timescale);
        this.#onSample({
          track,
          time: micros(decodeTime + cto),
          duration: micros(duration),
          key: track.kind === 'audio' || (flags & NON_SYNC) === 0,
          data: mdat.slice(start, start + size),
        });
        decodeTime += duration;
        offset += size;
      }
    }
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
