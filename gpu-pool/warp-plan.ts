/**
 * The warp of an eye pair, row by row (stereo.ts renderPairYuv drives it): each output pixel x of an
 * eye samples its source row at x − d (left eye) or x + d (right eye), bilinear with 8 fractional bits
 * (integer arithmetic is markedly faster than float here). Where each pixel samples — its sample plan —
 * depends only on the depth row, which many output rows share (the model runs smaller), so it is made
 * once per depth row (`plan`) and applied to each output row (`row`). Two warpers apply it with the
 * same arithmetic, bit for bit: the plain loops here, and WebAssembly SIMD (warp-simd.ts).
 */

import type { DepthInput } from './types.ts';

/** One row's half-disparities for each eye (the same array for both when occlusion is off). */
export interface EyeRows {
  left: Float32Array;
  right: Float32Array;
}

/** Where each pixel of a row samples its source row, for both eyes: the first sample's index and its weight (/256). */
export interface SamplePlan {
  li: Int32Array;
  lw: Uint8Array;
  ri: Int32Array;
  rw: Uint8Array;
}

/** Draws both eyes of a yuv420p picture into a frame, one row of a plane at a time. */
export interface PairWarper {
  /** A frame begins: rows are read from `src` and written into `out`; the luma plane is `width` wide. */
  begin(src: Uint8Array, out: Uint8Array, width: number, depth: DepthInput): void;
  /**
   * The plans of the rows to come from depth row `dy` (half-disparities up to `maxHalf` at the luma's
   * width): the luma's, and the chroma's (half as wide), whose pixel x takes half the disparity each
   * eye has at luma pixel 2x — chroma moves with the luma it belongs to, occlusion included.
   */
  plan(dy: number, maxHalf: number): void;
  /** The source row at `from` into the left eye's row at `left` and the right's at `right`, by the luma's or the chroma's plan. */
  row(from: number, left: number, right: number, chroma: boolean): void;
  /** The frame is complete in `out`. */
  end(): void;
}

/** How the depth map's values become 0…1 (`scale` is 0 for a flat map), and its x step per pixel of a plane `width` wide. */
export function rowScale(input: DepthInput, width: number): { scale: number; xRatio: number } {
  const range = input.state.max - input.state.min;
  return { scale: range > 1e-6 ? 1 / range : 0, xRatio: (input.depthWidth - 1) / Math.max(1, width - 1) };
}

/** Whether the eyes take occlusion-aware disparities (on by default; nothing to gain below half a pixel). */
export function occludes(input: DepthInput, maxHalf: number): boolean {
  return input.occlusion !== false && maxHalf >= 0.5;
}

/**
 * One row of half-disparities (in pixels of a plane `width` wide): the depth row `dy`, interpolated
 * along x, normalised to 0…1 against the depth state, shifted so the convergence sits on the screen
 * plane (disparity 0), times `maxHalf`.
 */
export function fillDisparity(input: DepthInput, dy: number, width: number, maxHalf: number, out: Float32Array): void {
  const { depth, depthWidth, state, convergence } = input;
  const { scale, xRatio } = rowScale(input, width);
  const row = dy * depthWidth;
  for (let x = 0; x < width; x++) {
    const fx = x * xRatio;
    const x0 = fx | 0;
    const x1 = x0 + 1 < depthWidth ? x0 + 1 : x0;
    const t = fx - x0;
    const d = depth[row + x0]! * (1 - t) + depth[row + x1]! * t;
    let n = (d - state.min) * scale;
    n = n < 0 ? 0 : n > 1 ? 1 : n;
    out[x] = (n - convergence) * maxHalf;
  }
}

/**
 * Occlusion: the left eye shows source point s at s + d(s), the right eye at s − d(s). Sampling each
 * output pixel x at x ∓ d(x) — the disparity where the pixel is, not where its source is — lets a near
 * object's leading edge be overwritten by the background it moves over (the object looks cut by up to
 * its disparity, the background smeared into it). Instead each eye's x takes the largest disparity (the
 * nearest point) among the source points whose image lands on x: a near object covers what it moves
 * onto. Where nothing lands (a hole the object uncovered), the disparity at x stays: the background
 * beside it fills the hole.
 */
export function occlusionRows(d: Float32Array, width: number, left: Float32Array, right: Float32Array): void {
  left.fill(Number.NEGATIVE_INFINITY, 0, width);
  right.fill(Number.NEGATIVE_INFINITY, 0, width);
  // Each source point lands on one pixel per eye (the nearest wins): one pass, whatever the disparity.
  for (let s = 0; s < width; s++) {
    const v = d[s]!;
    const l = Math.floor(s + v + 0.5);
    if (l >= 0 && l < width && v > left[l]!) left[l] = v;
    const r = Math.floor(s - v + 0.5);
    if (r >= 0 && r < width && v > right[r]!) right[r] = v;
  }
  for (let x = 0; x < width; x++) {
    if (left[x] === Number.NEGATIVE_INFINITY) left[x] = d[x]!;
    if (right[x] === Number.NEGATIVE_INFINITY) right[x] = d[x]!;
  }
}

/**
 * The sample plan of a row from each eye's half-disparities: the left eye at x − dl, the right at x + dr,
 * bilinear with 8 fractional bits, clamped to the row (the last pixel's weight is then 0).
 */
export function planRow(eyes: EyeRows, width: number, plan: SamplePlan): void {
  const lastFx = (width - 1) * 256;
  const { left: dl, right: dr } = eyes;
  const { li, lw, ri, rw } = plan;
  for (let x = 0; x < width; x++) {
    let lx = ((x - dl[x]!) * 256) | 0;
    let rx = ((x + dr[x]!) * 256) | 0;
    lx = lx < 0 ? 0 : lx > lastFx ? lastFx : lx;
    rx = rx < 0 ? 0 : rx > lastFx ? lastFx : rx;
    li[x] = lx >> 8;
    lw[x] = lx & 255;
    ri[x] = rx >> 8;
    rw[x] = rx & 255;
  }
}

const NONE = new Uint8Array(0);

/** The warp in plain loops: both eyes of a row in one pass (measured ≈ 1.5× faster than two). */
export class LoopWarper implements PairWarper {
  #luma: SamplePlan = emptyPlan();
  #chroma: SamplePlan = emptyPlan();
  #rows = { base: new Float32Array(0), left: new Float32Array(0), right: new Float32Array(0) };
  #halves = { left: new Float32Array(0), right: new Float32Array(0) };
  #src: Uint8Array = NONE;
  #out: Uint8Array = NONE;
  #depth: DepthInput | null = null;
  #width = 0;

  begin(src: Uint8Array, out: Uint8Array, width: number, depth: DepthInput): void {
    this.#src = src;
    this.#out = out;
    this.#depth = depth;
    this.#width = width;
    if (this.#luma.li.length < width) {
      this.#luma = emptyPlan(width);
      this.#chroma = emptyPlan(width >> 1);
      this.#rows = { base: new Float32Array(width), left: new Float32Array(width), right: new Float32Array(width) };
      this.#halves = { left: new Float32Array(width >> 1), right: new Float32Array(width >> 1) };
    }
  }

  plan(dy: number, maxHalf: number): void {
    const depth = this.#depth!;
    const width = this.#width;
    const { base, left, right } = this.#rows;
    fillDisparity(depth, dy, width, maxHalf, base);
    const occlusion = occludes(depth, maxHalf);
    if (occlusion) occlusionRows(base, width, left, right);
    const eyes = occlusion ? { left, right } : { left: base, right: base };
    planRow(eyes, width, this.#luma);
    const halves = this.#halves;
    const cw = width >> 1;
    for (let x = 0; x < cw; x++) {
      halves.left[x] = eyes.left[2 * x]! * 0.5;
      halves.right[x] = eyes.right[2 * x]! * 0.5;
    }
    planRow(halves, cw, this.#chroma);
  }

  row(from: number, left: number, right: number, chroma: boolean): void {
    const src = this.#src;
    const dst = this.#out;
    const width = chroma ? this.#width >> 1 : this.#width;
    const last = width - 1;
    const { li, lw, ri, rw } = chroma ? this.#chroma : this.#luma;
    for (let x = 0; x < width; x++) {
      const l0 = li[x]!;
      const a = from + l0;
      const w = lw[x]!;
      dst[left + x] = (src[a]! * (256 - w) + src[l0 < last ? a + 1 : a]! * w) >> 8;
      const r0 = ri[x]!;
      const b = from + r0;
      const v = rw[x]!;
      dst[right + x] = (src[b]! * (256 - v) + src[r0 < last ? b + 1 : b]! * v) >> 8;
    }
  }

  end(): void {
    // Written in place; the frame's buffers are not kept.
    this.#src = this.#out = NONE;
    this.#depth = null;
  }
}

function emptyPlan(width = 0): SamplePlan {
  return { li: new Int32Array(width), lw: new Uint8Array(width), ri: new Int32Array(width), rw: new Uint8Array(width) };
}
