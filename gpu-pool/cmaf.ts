/**
 * Small pure helpers over fragmented MP4 bytes: top-level boxes, the init/media split, and the
 * RFC 6381 codecs string a Media Source Extensions player needs (`avc1.PPCCLL`, `mp4a.40.N`).
 */

export interface Box {
  type: string;
  start: number;
  size: number;
}

/** The top-level boxes of an MP4 byte string, in order; stops at the first malformed header. */
export function topLevelBoxes(bytes: Uint8Array): Box[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes: Box[] = [];
  let offset = 0;
  while (offset + 8 <= bytes.length) {
    let size = view.getUint32(offset);
    const type = String.fromCharCode(bytes[offset + 4]!, bytes[offset + 5]!, bytes[offset + 6]!, bytes[offset + 7]!);
    if (size === 1 && offset + 16 <= bytes.length) size = Number(view.getBigUint64(offset + 8));
    else if (size === 0) size = bytes.length - offset;
    if (size < 8 || offset + size > bytes.length) break;
    boxes.push({ type, start: offset, size });
    offset += size;
  }
  return boxes;
}

/**
 * Splits a fragmented MP4 into its init segment (ftyp+moov) and media (moof+mdat…). Throws unless the
 * boxes cover every byte and the first moof is followed by its mdat: a write that failed part-way (a full
 * folder) leaves a truncated file, never to be served as a segment.
 */
export function splitInit(bytes: Uint8Array): { init: Uint8Array; media: Uint8Array } {
  const boxes = topLevelBoxes(bytes);
  const moof = boxes.findIndex((b) => b.type === 'moof');
  if (!boxes.some((b) => b.type === 'moov') || moof < 0) throw new Error('not a fragmented MP4: no moov or no moof');
  if (boxes[moof + 1]?.type !== 'mdat') throw new Error('not a whole fragmented MP4: its first moof has no mdat');
  const end = boxes.at(-1)!;
  const rest = bytes.length - (end.start + end.size);
  if (rest !== 0) throw new Error(`not a whole fragmented MP4: ${rest} bytes after the last whole box`);
  const start = boxes[moof]!.start;
  return { init: bytes.subarray(0, start), media: bytes.subarray(start) };
}

function indexOfType(bytes: Uint8Array, type: string, from = 0): number {
  const [a, b, c, d] = [...type].map((ch) => ch.charCodeAt(0));
  for (let i = Math.max(4, from); i + 4 <= bytes.length; i++) {
    if (bytes[i] === a && bytes[i + 1] === b && bytes[i + 2] === c && bytes[i + 3] === d) return i;
  }
  return -1;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0').toUpperCase();

/**
 * The codecs of an init segment: `avc1.PPCCLL` from its avcC box, and `mp4a.40.N` (N = the audio
 * object type of the AAC config) when it has an AAC track. Throws when there is no H.264 track.
 */
export function codecsOf(init: Uint8Array): string {
  const avcc = indexOfType(init, 'avcC');
  if (avcc < 0 || avcc + 8 > init.length) throw new Error('init segment has no H.264 (avcC) track');
  // avcC payload: configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication.
  const codecs = [`avc1.${hex2(init[avcc + 5]!)}${hex2(init[avcc + 6]!)}${hex2(init[avcc + 7]!)}`];
  const esds = indexOfType(init, 'esds');
  if (esds >= 0) {
    // The DecoderSpecificInfo descriptor (tag 5) holds the AudioSpecificConfig: its first 5 bits
    // are the audio object type (2 = AAC-LC).
    for (let i = esds + 8; i < init.length - 2; i++) {
      if (init[i] !== 0x05) continue;
      let j = i + 1;
      while (j < init.length && init[j]! & 0x80) j++; // the descriptor length is 1–4 bytes
      const objectType = (init[j + 1]! >> 3) & 0x1f;
      if (objectType > 0) codecs.push(`mp4a.40.${objectType}`);
      break;
    }
  }
  return codecs.join(',');
}
