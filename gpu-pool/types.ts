/**
 * The pool's public contract: bytes in, bytes out. This folder imports nothing else of ours but
 * protocol/ (the wire's types and constants, the one leaf every part shares).
 */
import type { StereoMode } from '../protocol/keys.ts';

export type { StereoMode };

/**
 * Depth-normalisation state within a conversion: an EMA of the model's raw depth range, a tiny luma
 * thumbnail of the last frame for scene-cut detection, and (when depth is stabilised) the last filtered
 * depth map with its frame's luma (depth-stabiliser.ts). Plain data: it is carried between workers.
 */
export interface DepthState {
  /** EMA of the per-frame minimum of the model's raw output. */
  min: number;
  /** EMA of the per-frame maximum of the model's raw output. */
  max: number;
  /** 16×9 luma thumbnail of the last frame. */
  thumb: number[];
  /** The temporal filter's last map (0 far … 1 near, the network's output size) and luma (its input size). */
  filter?: { width: number; height: number; map: Float32Array; luma: Uint8Array; lumaWidth: number; lumaHeight: number };
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
  /**
   * Measurement only (benchmarks, tests; the server never sets it): return every frame's disparity
   * map as the warp used it (`ChunkResult.disparity`).
   */
  probe?: boolean;
  /**
   * Set by the pool (`run`'s signal), never by a caller: a shared flag the worker reads before each
   * frame. Raised, the conversion stops there with a ChunkCancelledError — at a point where no native
   * call is running, unlike terminating the thread (Piscina's own abort), which can abort the process.
   */
  cancel?: SharedArrayBuffer;
}

/** Every frame's half-disparity (px of one eye; positive = in front of the screen) at the depth map's size. */
export interface DisparityProbe {
  width: number;
  height: number;
  frames: Float32Array[];
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
  /** The depth state came from the previous chunk's own conversion (depth-carry.ts): no warm-up ran. */
  depthCarried: boolean;
  /** How many times the depth network ran on this chunk's frames (fewer than `frames` with a depth rate below the video's). */
  depthRuns: number;
  /** Every how many frames it ran (DEPTH_FPS, or chosen by the automatic rate). */
  depthInterval: number;
  /** How many times it ran on the previous chunk's frames to warm up (0 when the state was carried). */
  warmUpRuns: number;
  timings: StageTimingsMs;
  /** With `probe`: what the warp did to each frame. */
  disparity?: DisparityProbe;
}

/** The task's rejection once its signal was raised (the pool's `run`). */
export class ChunkCancelledError extends Error {
  override name = 'ChunkCancelledError';
  constructor() {
    super('the conversion was cancelled');
  }
}

/** Thrown (as the task's rejection) for input that no retry can fix, e.g. not a decodable video. */
export class ChunkInputError extends Error {
  override name = 'ChunkInputError';
}

/** The depth map a frame's disparity comes from (at the model's size), and the range it is normalised against. */
export interface DepthInput {
  depth: Float32Array;
  depthWidth: number;
  depthHeight: number;
  state: DepthState;
  /** The normalised depth (0 far … 1 near) that lands on the screen plane. */
  convergence: number;
  /**
   * Occlusion-aware warping (default on): each eye's pixel takes the disparity of the nearest source
   * point that lands on it, so a near object's edge moves with it instead of being eaten by the
   * background it slides over (see occlusionRows).
   */
  occlusion?: boolean;
}
