/**
 * Depth → stereo, in plain typed-array loops (measured ≈5× faster than ONNX GridSample here).
 * Each output pixel samples the source horizontally, shifted by half the disparity, in opposite
 * directions for the two eyes (nearer points come out of the screen). Disparity is the depth,
 * normalised against the smoothed range (see depth-range.ts), times `strength × width`.
 *
 * The eye pairs (side by side, cross-eyed, top-bottom: protocol/layout.ts) work on yuv420p planes
 * directly (what the decoder gives and the encoder takes: no colour conversion at full resolution);
 * the red/cyan anaglyphs mix colours, so they work on rgb24.
 */
import type { AnaglyphMethod } from '../protocol/layout.ts';
import type { DepthInput } from './types.ts';
import { type EyeRows, fillDisparity, LoopWarper, occludes, occlusionRows, type PairWarper } from './warp-plan.ts';
import { SimdWarper } from './warp-simd.ts';

export interface StereoOptions {
  /** Side by side (an rgb24 pair), or an anaglyph mixed by `method` (default colour). */
  mode: 'sbs' | 'anaglyph';
  method?: AnaglyphMethod;
  /** Largest disparity as a fraction of the eye's width (e.g. 0.03). */
  strength: number;
}

/**
 * The half-disparity (px of an eye `eyeWidth` wide; positive = in front of the screen) of every point
 * of the depth map, as the warp uses it (measurement: the `probe` of a chunk task).
 */
export function disparityMap(input: DepthInput, eyeWidth: number, strength: number): Float32Array {
  const maxHalf = (strength * eyeWidth) / 2;
  const range = input.state.max - input.state.min;
  const scale = range > 1e-6 ? 1 / range : 0;
  const out = new Float32Array(input.depth.length);
  for (let i = 0; i < out.length; i++) {
    let n = (input.depth[i]! - input.state.min) * scale;
    n = n < 0 ? 0 : n > 1 ? 1 : n;
    out[i] = (n - input.convergence) * maxHalf;
  }
  return out;
}

/**
 * Calls `row(y, eyes)` for each of `height` rows of a plane `width` wide, with each eye's
 * half-disparities for that row. Consecutive rows share a depth row (the model runs smaller), so each
 * depth row's disparities are computed once.
 */
function eachRow(
  input: DepthInput,
  width: number,
  height: number,
  maxHalf: number,
  scratch: RowScratch,
  row: (y: number, eyes: EyeRows) => void,
): void {
  const occlusion = occludes(input, maxHalf);
  const base = scratch.base(width);
  const eyes: EyeRows = occlusion ? { left: scratch.left(width), right: scratch.right(width) } : { left: base, right: base };
  let cached = -1;
  for (let y = 0; y < height; y++) {
    const dy = depthRowOf(y, height, input.depthHeight);
    if (dy !== cached) {
      cached = dy;
      fillDisparity(input, dy, width, maxHalf, base);
      if (occlusion) occlusionRows(base, width, eyes.left, eyes.right);
    }
    row(y, eyes);
  }
}

/**
 * The depth row that row `y` of a plane `height` tall takes its disparity from: consecutive rows share
 * one (the model runs smaller), so each depth row's work is done once for them.
 */
function depthRowOf(y: number, height: number, depthHeight: number): number {
  return Math.min(depthHeight - 1, Math.floor(((y + 0.5) * depthHeight) / height));
}

/** Row buffers reused from frame to frame (one set per stream), and the warper its pairs are drawn with. */
export class RowScratch {
  /** The SIMD kernel where WebAssembly SIMD runs (everywhere Node runs, in practice), else the plain loops. */
  readonly warper: PairWarper;
  constructor(options: { simd?: boolean } = {}) {
    this.warper = (options.simd !== false ? SimdWarper.forThread() : null) ?? new LoopWarper();
  }
  #base = new Float32Array(0);
  #left = new Float32Array(0);
  #right = new Float32Array(0);
  base(width: number): Float32Array {
    if (this.#base.length < width) this.#base = new Float32Array(width);
    return this.#base;
  }
  left(width: number): Float32Array {
    if (this.#left.length < width) this.#left = new Float32Array(width);
    return this.#left;
  }
  right(width: number): Float32Array {
    if (this.#right.length < width) this.#right = new Float32Array(width);
    return this.#right;
  }
}

/**
 * Warps one row of one channel into one eye: `dst[to + x·step]` samples the source row at x − d
 * (`sign` −1, the left eye) or x + d (`sign` +1, the right eye), bilinear with 8 fractional bits
 * (integer arithmetic is markedly faster than float here). `step` is 1 for a plane, 3 for rgb24.
 */
function warpEye(
  src: Uint8Array,
  from: number,
  width: number,
  half: Float32Array,
  sign: number,
  dst: Uint8Array,
  to: number,
  step: number,
): void {
  const last = width - 1;
  const lastFx = last * 256;
  for (let x = 0; x < width; x++) {
    let fx = ((x + sign * half[x]!) * 256) | 0;
    fx = fx < 0 ? 0 : fx > lastFx ? lastFx : fx;
    const x0 = fx >> 8;
    const w = fx & 255;
    const a = from + x0 * step;
    dst[to + x * step] = (src[a]! * (256 - w) + src[x0 < last ? a + step : a]! * w) >> 8;
  }
}

/** Bytes of a packed yuv420p frame (Y, then U and V at half resolution). */
export function yuv420pSize(width: number, height: number): number {
  return width * height + 2 * (width >> 1) * (height >> 1);
}

/**
 * Both eyes from a packed yuv420p eye picture (`width`×`height`, even) into a packed yuv420p frame
 * that holds them as `packing` says: side by side (`lr`: left first, the frame twice as wide; `rl`:
 * right first, cross-eyed) or top-bottom (`tb`: left on top, the frame twice as tall). Chroma is
 * warped at its own resolution with half the disparity the luma's eye has at its first pixel.
 */
export function renderPairYuv(
  src: Uint8Array,
  width: number,
  height: number,
  input: DepthInput,
  strength: number,
  packing: 'lr' | 'rl' | 'tb',
  out: Uint8Array,
  scratch: RowScratch = new RowScratch(),
): void {
  const cw = width >> 1;
  const ch = height >> 1;
  const maxHalf = (strength * width) / 2;
  const warper = scratch.warper;
  warper.begin(src, out, width, input);
  /** Where a row of a plane `w` wide goes in each eye. */
  const rows = (to: number, w: number, h: number, y: number): [number, number] => {
    if (packing === 'tb') return [to + y * w, to + (h + y) * w];
    const row = to + y * 2 * w;
    return packing === 'lr' ? [row, row + w] : [row + w, row];
  };
  const planes = [
    { from: width * height, to: 2 * width * height },
    { from: width * height + cw * ch, to: 2 * width * height + 2 * cw * ch },
  ];
  // Depth row by depth row: its plan (luma, and chroma from the luma's), then the rows of every plane
  // that take their disparity from it.
  const depthHeight = input.depthHeight;
  let y = 0;
  let yc = 0;
  for (let dy = 0; dy < depthHeight && (y < height || yc < ch); dy++) {
    const lumaEnd = nextRow(y, height, (r) => depthRowOf(r, height, depthHeight) <= dy);
    const chromaEnd = nextRow(yc, ch, (r) => depthRowOf(r, ch, depthHeight) <= dy);
    if (lumaEnd === y && chromaEnd === yc) continue;
    warper.plan(dy, maxHalf);
    for (; y < lumaEnd; y++) {
      const [left, right] = rows(0, width, height, y);
      warper.row(y * width, left, right, false);
    }
    for (; yc < chromaEnd; yc++) {
      for (const p of planes) {
        const [left, right] = rows(p.to, cw, ch, yc);
        warper.row(p.from + yc * cw, left, right, true);
      }
    }
  }
  warper.end();
}

/** The first row from `from` (below `height`) for which `takes` no longer holds. */
function nextRow(from: number, height: number, takes: (row: number) => boolean): number {
  let row = from;
  while (row < height && takes(row)) row++;
  return row;
}

/**
 * Dubois' least-squares red/cyan matrices (rows: output red, green, blue; columns: the eye's red,
 * green, blue), in 1/1024ths for integer arithmetic.
 */
const DUBOIS_LEFT = [
  [467, 512, 180],
  [-41, -39, -16],
  [-15, -22, -5],
];
const DUBOIS_RIGHT = [
  [-44, -90, -2],
  [387, 752, -18],
  [-74, -116, 1255],
];

/**
 * Renders one stereo frame from an rgb24 frame into `out`: side by side, (2·width)×height with the left
 * eye first; or an anaglyph, width×height, mixed by `method`: colour (red from the left eye, green and
 * blue from the right), half colour (the left eye's red is its grey: less retinal rivalry on red
 * objects) or Dubois (each colour a least-squares mix of both eyes: truer colours, less ghosting).
 */
export function renderStereo(
  frame: Uint8Array,
  width: number,
  height: number,
  input: DepthInput,
  options: StereoOptions,
  out: Uint8Array,
  scratch: RowScratch = new RowScratch(),
  pair: Uint8Array = new Uint8Array(width * 6),
): void {
  const sbs = options.mode === 'sbs';
  const method = sbs ? null : (options.method ?? 'color');
  const outStride = sbs ? width * 6 : width * 3;
  eachRow(input, width, height, (options.strength * width) / 2, scratch, (y, eyes) => {
    const src = y * width * 3;
    const dst = y * outStride;
    if (sbs || method === 'color') {
      for (let c = 0; c < 3; c++) {
        if (sbs) {
          warpEye(frame, src + c, width, eyes.left, -1, out, dst + c, 3);
          warpEye(frame, src + c, width, eyes.right, 1, out, dst + width * 3 + c, 3);
        } else warpEye(frame, src + c, width, c === 0 ? eyes.left : eyes.right, c === 0 ? -1 : 1, out, dst + c, 3);
      }
      return;
    }
    // Both eyes' rows in full colour (left, then right), then mixed.
    for (let c = 0; c < 3; c++) {
      warpEye(frame, src + c, width, eyes.left, -1, pair, c, 3);
      warpEye(frame, src + c, width, eyes.right, 1, pair, width * 3 + c, 3);
    }
    mixAnaglyph(pair, width, method!, out, dst);
  });
}

const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** One row of an anaglyph from the two eyes' rows (rgb24, left then right in `eyes`). */
function mixAnaglyph(eyes: Uint8Array, width: number, method: 'half-color' | 'dubois', out: Uint8Array, to: number): void {
  const right = width * 3;
  for (let x = 0; x < width; x++) {
    const l = x * 3;
    const r = right + l;
    const o = to + l;
    if (method === 'half-color') {
      out[o] = (eyes[l]! * 306 + eyes[l + 1]! * 601 + eyes[l + 2]! * 117) >> 10;
      out[o + 1] = eyes[r + 1]!;
      out[o + 2] = eyes[r + 2]!;
      continue;
    }
    for (let c = 0; c < 3; c++) {
      const a = DUBOIS_LEFT[c]!;
      const b = DUBOIS_RIGHT[c]!;
      const v =
        a[0]! * eyes[l]! + a[1]! * eyes[l + 1]! + a[2]! * eyes[l + 2]! + b[0]! * eyes[r]! + b[1]! * eyes[r + 1]! + b[2]! * eyes[r + 2]!;
      out[o + c] = clamp8(v >> 10);
    }
  }
}
