/**
 * Identifiers and object keys shared by the server, the actors and the clients.
 * Pure functions only: the one place that knows how keys are spelled.
 */

/** Session ids (and any id we accept from outside) must match this. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The largest chunk index a key can spell (`%05d`). */
export const MAX_CHUNK_INDEX = 99_999;

export const INPUT_PREFIX = 'stream_input/';
export const OUTPUT_PREFIX = 'stream_output/';

/** The stereo output formats (layout.ts says what each is). */
export { isStereoMode, STEREO_MODES, type StereoMode } from './layout.ts';

/**
 * MP4 metadata key with which a capture client tells the server when its media clock started:
 * µs since the epoch of media time 0 (a decimal string). The pool reads it (gpu-pool/chunk-reader.ts).
 */
export const CAPTURE_ORIGIN_TAG = 'stereospot_capture_origin';

/** True when `id` is a syntactically valid session id. */
export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

/** True when `value` is a chunk index a key can carry. */
export function isValidChunkIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_CHUNK_INDEX;
}

function pad5(index: number): string {
  return String(index).padStart(5, '0');
}

/** `stream_input/{session_id}/chunk_{index:05d}.mp4` */
export function chunkKey(sessionId: string, index: number): string {
  return `${INPUT_PREFIX}${sessionId}/chunk_${pad5(index)}.mp4`;
}

/** `stream_output/{session_id}/seg_{index:05d}.m4s` (a CMAF media segment) */
export function segmentKey(sessionId: string, index: number): string {
  return `${OUTPUT_PREFIX}${sessionId}/${segmentFileName(index)}`;
}

/** Init segments are named by their content: the first 16 hex digits of its SHA-256. */
export const INIT_ID_PATTERN = /^[0-9a-f]{16}$/;

/** `stream_output/{session_id}/init_{id}.mp4`: the init segment (ftyp+moov) segments name in `EXT-X-MAP`. */
export function initKey(sessionId: string, id: string): string {
  return `${OUTPUT_PREFIX}${sessionId}/${initFileName(id)}`;
}

/** `init_{id}.mp4` */
export function initFileName(id: string): string {
  return `init_${id}.mp4`;
}

/** The file name of a chunk inside its session's prefix: `chunk_00003.mp4`. */
export function chunkFileName(index: number): string {
  return `chunk_${pad5(index)}.mp4`;
}

/** The file name of a segment inside its session's prefix: `seg_00003.m4s`. */
export function segmentFileName(index: number): string {
  return `seg_${pad5(index)}.m4s`;
}

const CHUNK_KEY = /^stream_input\/([A-Za-z0-9_-]{1,64})\/chunk_(\d{5})\.mp4$/;
const CHUNK_FILE = /^chunk_(\d{5})\.mp4$/;
const SEGMENT_FILE = /^seg_(\d{5})\.m4s$/;
const INIT_FILE = /^init_([0-9a-f]{16})\.mp4$/;

export interface ParsedKey {
  sessionId: string;
  index: number;
}

/** Parses an input key; returns undefined for anything that is not a chunk key. */
export function parseChunkKey(key: string): ParsedKey | undefined {
  const m = CHUNK_KEY.exec(key);
  return m ? { sessionId: m[1]!, index: Number(m[2]) } : undefined;
}

/** Parses `chunk_00003.mp4` → 3. */
export function parseChunkFileName(name: string): number | undefined {
  const m = CHUNK_FILE.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Parses `seg_00003.m4s` → 3. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = SEGMENT_FILE.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Parses `init_0123456789abcdef.mp4` → its id. */
export function parseInitFileName(name: string): string | undefined {
  return INIT_FILE.exec(name)?.[1];
}
