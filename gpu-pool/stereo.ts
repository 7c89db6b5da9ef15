/**
 * Depth → stereo, in plain typed-array loops (measured ≈5× faster than ONNX GridSample here).
 * Disparity is normalised per frame against an EMA of the depth range that is carried across
 * chunks (DepthState), and reset on scene cuts so a cut does not inherit the old range.
 */
import type { DepthState, StereoMode } from './types.ts';

const THUMB_W = 16;
const THUMB_H = 9;
/** Mean absolute luma difference (0–255) between thumbnails above which we call it a cut. */
const CUT_THRESHOLD = 40;
/** EMA weight of the current frame's range. */
const EMA = 0.15;

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

export function isSceneCut(a: number[], b: number[]): boolean {
  if (a.length !== b.length || a.length === 0) return a.length !== b.length;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length > CUT_THRESHOLD;
}

/** Updates the depth state with one frame's raw depth range; returns the new state. */
export function updateDepthState(prev: DepthState | null, depth: Float32Array, thumb: number[]): DepthState {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < depth.length; i++) {
    const v = depth[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!prev || isSceneCut(prev.thumb, thumb)) return { min, max, thumb };
  return { min: prev.min + EMA * (min - prev.min), max: prev.max + EMA * (max - prev.max), thumb };
}

export interface StereoOptions {
  mode: StereoMode;
  /** Largest disparity as a fraction of the eye's width (e.g. 0.03). */
  strength: number;
}

/**
 * Renders one stereo frame into `out`: SBS is (2·width)×height with the left eye first; anaglyph is
 * width×height, red from the left eye and green/blue from the right.
 */
export function renderStereo(
  frame: Uint8Array,
  width: number,
  height: number,
  depth: Float32Array,
  depthWidth: number,
  depthHeight: number,
  state: DepthState,
  options: StereoOptions,
  out: Uint8Array,
  disparity: Float32Array = new Float32Array(width),
): void {
  const range = state.max - state.min;
  const scale = range > 1e-6 ? 1 / range : 0;
  const maxDisp = options.strength * width;
  const sbs = options.mode === 'sbs';
  const outStride = sbs ? width * 6 : width * 3;
  const xRatio = (depthWidth - 1) / Math.max(1, width - 1);
  const last = width - 1;
  const lastFx = last * 256;
  let cachedRow = -1;
  for (let y = 0; y < height; y++) {
    // Disparity for this row: depth row (nearest), interpolated along x, normalised to 0…1.
    // Consecutive output rows share a depth row (the model runs smaller), so compute it once.
    const dy = Math.min(depthHeight - 1, Math.floor(((y + 0.5) * depthHeight) / height));
    if (dy !== cachedRow) {
      cachedRow = dy;
      const drow = dy * depthWidth;
      for (let x = 0; x < width; x++) {
        const fx = x * xRatio;
        const x0 = fx | 0;
        const x1 = x0 + 1 < depthWidth ? x0 + 1 : x0;
        const t = fx - x0;
        const d = depth[drow + x0]! * (1 - t) + depth[drow + x1]! * t;
        let n = (d - state.min) * scale;
        n = n < 0 ? 0 : n > 1 ? 1 : n;
        disparity[x] = n * maxDisp * 0.5;
      }
    }
    const src = y * width * 3;
    const dst = y * outStride;
    for (let x = 0; x < width; x++) {
      const half = disparity[x]!;
      // Nearer points move right in the left eye and left in the right eye (in front of the screen).
      // Fixed point (8 fractional bits): integer arithmetic is markedly faster than float here.
      let lx = ((x - half) * 256) | 0;
      let rx = ((x + half) * 256) | 0;
      lx = lx < 0 ? 0 : lx > lastFx ? lastFx : lx;
      rx = rx < 0 ? 0 : rx > lastFx ? lastFx : rx;
      const l0 = lx >> 8;
      const lw = lx & 255;
      const r0 = rx >> 8;
      const rw = rx & 255;
      const la = src + l0 * 3;
      const lb = l0 < last ? la + 3 : la;
      const ra = src + r0 * 3;
      const rb = r0 < last ? ra + 3 : ra;
      const lv = 256 - lw;
      const rv = 256 - rw;
      if (sbs) {
        const o = dst + x * 3;
        const p = o + width * 3;
        out[o] = (frame[la]! * lv + frame[lb]! * lw) >> 8;
        out[o + 1] = (frame[la + 1]! * lv + frame[lb + 1]! * lw) >> 8;
        out[o + 2] = (frame[la + 2]! * lv + frame[lb + 2]! * lw) >> 8;
        out[p] = (frame[ra]! * rv + frame[rb]! * rw) >> 8;
        out[p + 1] = (frame[ra + 1]! * rv + frame[rb + 1]! * rw) >> 8;
        out[p + 2] = (frame[ra + 2]! * rv + frame[rb + 2]! * rw) >> 8;
      } else {
        const o = dst + x * 3;
        out[o] = (frame[la]! * lv + frame[lb]! * lw) >> 8;
        out[o + 1] = (frame[ra + 1]! * rv + frame[rb + 1]! * rw) >> 8;
        out[o + 2] = (frame[ra + 2]! * rv + frame[rb + 2]! * rw) >> 8;
      }
    }
  }
}
