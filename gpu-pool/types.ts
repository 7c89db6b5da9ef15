/**
 * The pool's public contract: bytes in, bytes out. This folder imports nothing else of ours.
 */

export type StereoMode = 'sbs' | 'anaglyph';

/**
 * Depth-normalisation state within a conversion: an EMA of the model's raw depth range, and a tiny
 * luma thumbnail of the last frame for scene-cut detection. Plain data.
 */
export interface DepthState {
  /** EMA of the per-frame minimum of the model's raw output. */
  min: number;
  /** EMA of the per-frame maximum of the model's raw output. */
  max: number;
  /** 16×9 luma thumbnail of the last frame. */
  thumb: number[];
}

/** One chunk to convert. */
export interface ChunkTask {
  /** The chunk: an MP4 file (H.264 video, optional AAC audio), whole. Moved to the worker. */
  chunk: Uint8Array;
  /**
   * The previous chunk of the same session, when it exists. Its last frames warm up the depth
   * normalisation, so depth is continuous across the border whatever order chunks are converted in.
   */
  previous?: Uint8Array | null;
  mode: StereoMode;
  /** Height of each eye's view; never upscales beyond the source height. Width follows the aspect (even). */
  outputHeight: number;
  /** Largest disparity as a fraction of each eye's width (0…0.1); the pool's default when absent. */
  strength?: number;
  /**
   * Which depth sits on the screen plane, 0…1 of the normalised range: 0 puts the farthest point on
   * the screen (everything comes out), 1 the nearest (everything goes in). Default 0.
   */
  convergence?: number;
}

export interface StageTimingsMs {
  decode: number;
  depth: number;
  stereo: number;
  encode: number;
  total: number;
}

/** The converted chunk: one CMAF (fragmented MP4) segment and the init segment it needs. */
export interface ChunkResult {
  /** ftyp + moov: identical for every chunk of the same format, so it is shared per session. */
  init: Uint8Array;
  /** moof + mdat: H.264 stereo video and the chunk's audio (copied), on the capture's own timeline. */
  media: Uint8Array;
  /** RFC 6381 codecs of the segment, for Media Source Extensions (`avc1.42C01E,mp4a.40.2`). */
  codecs: string;
  /** Presentation time of the first video frame (s), as in the chunk. */
  start: number;
  /** Measured duration (last frame end − first frame start), seconds. */
  duration: number;
  /**
   * Wall-clock time (ms since epoch) of media time 0, written into the chunk by the capture client
   * (`stereospot_capture_origin`, µs); null when the chunk does not carry it.
   */
  origin: number | null;
  frames: number;
  fps: number;
  /** Output frame size (SBS: twice the eye width). */
  width: number;
  height: number;
  /** The chunk had sound (copied); without it the segment carries a silent track (silent-audio.ts). */
  hasAudio: boolean;
  /** The depth state was warmed up from the previous chunk's last frames. */
  warmedUp: boolean;
  /** How many times the depth network ran (fewer than `frames` with a depth rate below the video's). */
  depthRuns: number;
  timings: StageTimingsMs;
}

/** Thrown (as the task's rejection) for input that no retry can fix, e.g. not a decodable video. */
export class ChunkInputError extends Error {
  override name = 'ChunkInputError';
}
