/**
 * The pool's public contract: bytes in, bytes out. This folder imports nothing else of ours.
 */

export type StereoMode = 'sbs' | 'anaglyph';

/**
 * Depth-normalisation state carried from one chunk to the next by the session actor,
 * so depth does not jump at chunk borders. Plain data (survives JSON and structured clone).
 */
export interface DepthState {
  /** EMA of the per-frame minimum of the model's raw output. */
  min: number;
  /** EMA of the per-frame maximum of the model's raw output. */
  max: number;
  /** Tiny luma thumbnail of the last frame (for scene-cut detection across chunk borders). */
  thumb: number[];
}

/** One chunk to convert. */
export interface ChunkTask {
  /** The chunk: an MP4 file (H.264 video, optional AAC audio), whole. Moved to the worker. */
  chunk: Uint8Array;
  mode: StereoMode;
  /** Height of each eye's view; never upscales beyond the source height. Width follows the aspect (even). */
  outputHeight: number;
  /** State from the previous chunk of the same session, or null for the first one. */
  depth: DepthState | null;
}

export interface StageTimingsMs {
  decode: number;
  depth: number;
  stereo: number;
  encode: number;
  total: number;
}

/** The converted chunk. */
export interface ChunkResult {
  /** MPEG-TS segment: H.264 stereo video (+ the chunk's audio, copied), timestamps shifted to the chunk's start. */
  segment: Uint8Array;
  /** Measured duration (frames / fps), seconds. */
  duration: number;
  /** The chunk's own start time (seconds), used as the segment's timestamp offset. */
  start: number;
  frames: number;
  fps: number;
  /** Output frame size (SBS: twice the eye width). */
  width: number;
  height: number;
  hasAudio: boolean;
  timings: StageTimingsMs;
  depth: DepthState;
}

/** Thrown (as the task's rejection) for input that no retry can fix, e.g. not a decodable video. */
export class ChunkInputError extends Error {
  override name = 'ChunkInputError';
}
