/**
 * Depth normalisation that does not jump: a model's raw output has no fixed scale, so each frame's
 * disparity is normalised against an EMA of the recent depth range, restarted at scene cuts (where
 * the old range means nothing). Cuts are found by comparing 16×9 luma thumbnails.
 */
import type { DepthState } from './types.ts';

const THUMB_W = 16;
const THUMB_H = 9;
/** Mean absolute luma difference (0–255) between thumbnails above which we call it a cut. */
const CUT_THRESHOLD = 40;
/** EMA weight of the current frame's range (a time constant of about 6 frames). */
export const DEPTH_EMA = 0.15;

/** 16×9 luma thumbnail of an rgb24 frame. */
export function thumbnail(frame: Uint8Array, width: number, height: number): number[] {
  const out: number[] = [];
  for (let ty = 0; ty < THUMB_H; ty++) {
    const y = Math.floor(((ty + 0.5) * height) / THUMB_H);
    for (let tx = 0; tx < THUMB_W; tx++) {
      const s = (y * width + Math.floor(((tx + 0.5) * width) / THUMB_W)) * 3;
      out.push(Math.round(0.299 * frame[s]! + 0.587 * frame[s + 1]! + 0.114 * frame[s + 2]!));
    }
  }
  return out;
}

/** The same 16×9 thumbnail from a luma plane (a yuv420p picture's first `width`×`height` bytes). */
export function lumaThumbnail(luma: Uint8Array, width: number, height: number): number[] {
  const out: number[] = [];
  for (let ty = 0; ty < THUMB_H; ty++) {
    const y = Math.floor(((ty + 0.5) * height) / THUMB_H);
    for (let tx = 0; tx < THUMB_W; tx++) out.push(luma[y * width + Math.floor(((tx + 0.5) * width) / THUMB_W)]!);
  }
  return out;
}

/** Mean absolute difference of two thumbnails (0–255). */
export function thumbnailDistance(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - (b[i] ?? 0));
  return a.length === 0 ? 0 : sum / a.length;
}

export function isSceneCut(a: number[], b: number[]): boolean {
  if (a.length !== b.length || a.length === 0) return a.length !== b.length;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length > CUT_THRESHOLD;
}

/** The range a frame is normalised against: these percentiles of its depth, not its extremes. */
export const RANGE_LOW = 0.02;
export const RANGE_HIGH = 0.98;
/** Values sampled (evenly) for the percentiles: plenty for a range, cheap to sort. */
const RANGE_SAMPLES = 4096;

/**
 * A frame's depth range, robustly: the 2nd and 98th percentiles (nearest rank) of an even sample of
 * its values. A few extreme pixels — a speck the network calls very near, an edge artefact — then
 * neither squash the rest of the scene into a sliver of the disparity range nor make the range (and
 * with it every pixel's disparity) jump from frame to frame: the max-disparity flicker users see.
 */
export function frameRange(depth: Float32Array): { min: number; max: number } {
  const step = Math.max(1, Math.floor(depth.length / RANGE_SAMPLES));
  // A typed array sorts numerically without a comparator: several times faster than an array of numbers.
  const all = new Float32Array(Math.ceil(depth.length / step));
  let count = 0;
  for (let i = 0; i < depth.length; i += step) {
    const v = depth[i]!;
    if (Number.isFinite(v)) all[count++] = v;
  }
  if (count === 0) return { min: 0, max: 0 };
  const sample = all.subarray(0, count).sort();
  const at = (q: number) => sample[Math.round(q * (count - 1))]!;
  return { min: at(RANGE_LOW), max: at(RANGE_HIGH) };
}

/**
 * The EMA step itself, from a range already measured: restarts at a scene cut. `weight` is the new
 * range's share (DEPTH_EMA per estimate; more when estimates are further apart: `emaWeight`).
 */
export function advanceDepthState(
  prev: DepthState | null,
  range: { min: number; max: number },
  thumb: number[],
  weight = DEPTH_EMA,
): DepthState {
  const { min, max } = range;
  if (!prev || isSceneCut(prev.thumb, thumb)) return { min, max, thumb };
  return { min: prev.min + weight * (min - prev.min), max: prev.max + weight * (max - prev.max), thumb };
}

/** The EMA weight that, applied once every `steps` estimates, forgets as fast as DEPTH_EMA applied at each. */
export function emaWeight(steps: number): number {
  return 1 - (1 - DEPTH_EMA) ** Math.max(1, steps);
}
