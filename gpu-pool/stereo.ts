/**
 * Depth → stereo, in plain typed-array loops (measured ≈5× faster than ONNX GridSample here).
 * Each output pixel samples the source horizontally, shifted by half the disparity, in opposite
 * directions for the two eyes (nearer points come out of the screen). Disparity is the depth,
 * normalised against the smoothed range (see depth-range.ts), times `strength × width`.
 *
 * Side-by-side works on yuv420p planes directly (what the decoder gives and the encoder takes: no
 * colour conversion at full resolution); the red/cyan anaglyph mixes colours, so it works on rgb24.
 */
import type { DepthState, StereoMode } from './types.ts';

export interface StereoOptions {
  mode: StereoMode;
  /** Largest disparity as a fraction of the eye's width (e.g. 0.03). */
  strength: number;
}

/**
 * One row of half-disparities (in pixels of a plane `width` wide): the depth row `dy`, interpolated
 * along x, normalised to 0…1 against `state`, shifted so `convergence` sits on the screen plane
 * (disparity 0), times `maxHalf`.
 */
function fillDisparity(
  depth: Float32Array,
  depthWidth: number,
  dy: number,
  width: number,
  state: DepthState,
  convergence: number,
  maxHalf: number,
  out: Float32Array,
): void {
  const range = state.max - state.min;
  const scale = range > 1e-6 ? 1 / range : 0;
  const xRatio = (depthWidth - 1) / Math.max(1, width - 1);
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

/** The depth map a frame's disparity comes from (at the model's size), and the range it is normalised against. */
export interface DepthInput {
  depth: Float32Array;
  depthWidth: number;
  depthHeight: number;
  state: DepthState;
  /** The normalised depth (0 far … 1 near) that lands on the screen plane. */
  convergence: number;
}

/**
 * Calls `row(y)` for each of `height` rows of a plane `width` wide, with `disparity` holding that
 * row's half-disparities. Consecutive rows share a depth row (the model runs smaller), so each depth
 * row's disparity is computed once.
 */
function eachRow(
  input: DepthInput,
  width: number,
  height: number,
  maxHalf: number,
  disparity: Float32Array,
  row: (y: number) => void,
): void {
  let cached = -1;
  for (let y = 0; y < height; y++) {
    const dy = Math.min(input.depthHeight - 1, Math.floor(((y + 0.5) * input.depthHeight) / height));
    if (dy !== cached) {
      cached = dy;
      fillDisparity(input.depth, input.depthWidth, dy, width, input.state, input.convergence, maxHalf, disparity);
    }
    row(y);
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

/**
 * Warps one row of a single-channel plane into both eyes in one pass (the side-by-side hot path:
 * measured ≈ 1.5× faster than two `warpEye` passes): `dst[left + x]` samples the source at x − d,
 * `dst[right + x]` at x + d.
 */
function warpRow(src: Uint8Array, from: number, width: number, half: Float32Array, dst: Uint8Array, left: number, right: number): void {
  const last = width - 1;
  const lastFx = last * 256;
  for (let x = 0; x < width; x++) {
    const d = half[x]!;
    let lx = ((x - d) * 256) | 0;
    let rx = ((x + d) * 256) | 0;
    lx = lx < 0 ? 0 : lx > lastFx ? lastFx : lx;
    rx = rx < 0 ? 0 : rx > lastFx ? lastFx : rx;
    const l0 = lx >> 8;
    const r0 = rx >> 8;
    const lw = lx & 255;
    const rw = rx & 255;
    const la = from + l0;
    const ra = from + r0;
    dst[left + x] = (src[la]! * (256 - lw) + src[l0 < last ? la + 1 : la]! * lw) >> 8;
    dst[right + x] = (src[ra]! * (256 - rw) + src[r0 < last ? ra + 1 : ra]! * rw) >> 8;
  }
}

/** Bytes of a packed yuv420p frame (Y, then U and V at half resolution). */
export function yuv420pSize(width: number, height: number): number {
  return width * height + 2 * (width >> 1) * (height >> 1);
}

/**
 * Side-by-side from a packed yuv420p eye frame (`width`, `height` even) into a packed yuv420p frame
 * of twice the width, left eye first. Chroma is warped at its own resolution with half the disparity.
 */
export function renderSbsYuv(
  src: Uint8Array,
  width: number,
  height: number,
  input: DepthInput,
  strength: number,
  out: Uint8Array,
  scratch: Float32Array = new Float32Array(width),
): void {
  const cw = width >> 1;
  const ch = height >> 1;
  const maxHalf = (strength * width) / 2;
  const planes = [
    { from: 0, to: 0, w: width, h: height, maxHalf },
    { from: width * height, to: 2 * width * height, w: cw, h: ch, maxHalf: maxHalf / 2 },
    { from: width * height + cw * ch, to: 2 * width * height + 2 * cw * ch, w: cw, h: ch, maxHalf: maxHalf / 2 },
  ];
  for (const p of planes) {
    eachRow(input, p.w, p.h, p.maxHalf, scratch, (y) => {
      const row = p.to + y * 2 * p.w;
      warpRow(src, p.from + y * p.w, p.w, scratch, out, row, row + p.w);
    });
  }
}

/**
 * Renders one stereo frame from an rgb24 frame into `out`: SBS is (2·width)×height with the left eye
 * first; anaglyph is width×height, red from the left eye and green/blue from the right.
 */
export function renderStereo(
  frame: Uint8Array,
  width: number,
  height: number,
  input: DepthInput,
  options: StereoOptions,
  out: Uint8Array,
  disparity: Float32Array = new Float32Array(width),
): void {
  const sbs = options.mode === 'sbs';
  const outStride = sbs ? width * 6 : width * 3;
  eachRow(input, width, height, (options.strength * width) / 2, disparity, (y) => {
    const src = y * width * 3;
    const dst = y * outStride;
    for (let c = 0; c < 3; c++) {
      if (sbs) {
        warpEye(frame, src + c, width, disparity, -1, out, dst + c, 3);
        warpEye(frame, src + c, width, disparity, 1, out, dst + width * 3 + c, 3);
      } else {
        // Red from the left eye, green and blue from the right one.
        warpEye(frame, src + c, width, disparity, c === 0 ? -1 : 1, out, dst + c, 3);
      }
    }
  });
}
