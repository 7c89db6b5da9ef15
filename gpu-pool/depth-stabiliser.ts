/**
 * Per-pixel temporal filtering of depth, motion-compensated: the flicker and shimmer users of iw3 and
 * Desktop2Stereo complain of most is the network's answer for the same scene point wobbling from frame
 * to frame. Each estimate (already normalised to 0 far … 1 near against the smoothed range) is blended
 * with the previous filtered map moved along the picture's motion:
 *
 *   filtered = predicted + α · (estimate − predicted)
 *
 * The motion is found by block matching between the two frames' luma at half the network's input size
 * (8×8 blocks there, 16×16 at the input size; ±2 px there, ±4 at the input size; sub-pixel by a parabola
 * through the best match and its neighbours) — about 0.3 ms a frame, next to the network's 10–100. α is small
 * (ALPHA_STILL) where a block matched well — the same content, so the change is the network's wobble —
 * and rises to 1 (the estimate as it is) where the block did not match (new content, something in
 * front, motion beyond the search) or where the estimate moved further than wobble does (a real change
 * of depth). A scene cut starts afresh.
 */

import type { DepthState } from './types.ts';

/** Block side and search radius, at half the network's input size. */
const BLOCK = 8;
const RADIUS = 2;
/** What a pixel of shift costs a block, in summed absolute luma difference (a quarter level per pixel of the block). */
const SHIFT_COST = (BLOCK * BLOCK) / 4;
/** The estimate's weight where the picture matched: a time constant of about four frames. */
export const ALPHA_STILL = 0.25;
/** Mean absolute luma difference (0–255) of a match up to which it counts as the same content… */
export const MATCH_GOOD = 6;
/** …and from which as different content (α = 1); linear between. */
const MATCH_BAD = 24;
/** A change of normalised depth from which it is taken as real (α = 1); linear below. */
const REAL_CHANGE = 0.25;

/** What the filter keeps from one estimate to the next (plain data: it is carried between chunks). */
export type FilterState = NonNullable<DepthState['filter']>;

/** Luma of an rgb24 picture. */
export function lumaOf(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let i = 0, s = 0; i < out.length; i++, s += 3) out[i] = (77 * rgb[s]! + 150 * rgb[s + 1]! + 29 * rgb[s + 2]!) >> 8;
  return out;
}

/** Sum of absolute differences of the block at (bx, by) in `cur` and at (bx + dx, by + dy) in `prev`. */
function sad(cur: Uint8Array, prev: Uint8Array, width: number, bx: number, by: number, dx: number, dy: number): number {
  let sum = 0;
  let c = by * width + bx;
  let p = (by + dy) * width + bx + dx;
  for (let y = 0; y < BLOCK; y++, c += width, p += width) {
    for (let x = 0; x < BLOCK; x++) {
      const d = cur[c + x]! - prev[p + x]!;
      sum += (d ^ (d >> 31)) - (d >> 31);
    }
  }
  return sum;
}

/** The same, with `prev` sampled bilinearly at a fractional shift; NaN when that reaches past the picture. */
function subPixelSad(cur: Uint8Array, prev: Uint8Array, width: number, bx: number, by: number, dx: number, dy: number): number {
  const ix = Math.floor(dx);
  const iy = Math.floor(dy);
  const tx = dx - ix;
  const ty = dy - iy;
  if (bx + ix < 0 || by + iy < 0 || bx + ix + BLOCK + 1 > width || (by + iy + BLOCK + 1) * width > prev.length) return NaN;
  let sum = 0;
  for (let y = 0; y < BLOCK; y++) {
    const c = (by + y) * width + bx;
    const p = (by + y + iy) * width + bx + ix;
    for (let x = 0; x < BLOCK; x++) {
      const top = prev[p + x]! + tx * (prev[p + x + 1]! - prev[p + x]!);
      const bottom = prev[p + x + width]! + tx * (prev[p + x + width + 1]! - prev[p + x + width]!);
      const d = cur[c + x]! - (top + ty * (bottom - top));
      sum += d < 0 ? -d : d;
    }
  }
  return sum;
}

/** The vertex of the parabola through three costs around a minimum (−0.5…0.5). */
function vertex(a: number, b: number, c: number): number {
  const denominator = a - 2 * b + c;
  return denominator > 0 ? Math.max(-0.5, Math.min(0.5, (a - c) / (2 * denominator))) : 0;
}

/** A luma picture at half size (2×2 means; odd edges dropped). */
export function halve(luma: Uint8Array, width: number, height: number): { luma: Uint8Array; width: number; height: number } {
  const w = width >> 1;
  const h = height >> 1;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const a = 2 * y * width;
    const b = a + width;
    for (let x = 0; x < w; x++)
      out[y * w + x] = (luma[a + 2 * x]! + luma[a + 2 * x + 1]! + luma[b + 2 * x]! + luma[b + 2 * x + 1]! + 2) >> 2;
  }
  return { luma: out, width: w, height: h };
}

/** Where each block's content was in the previous frame, at the size of the pictures searched. */
export interface Motion {
  /** Block side in pixels of the pictures given. */
  block: number;
  columns: number;
  rows: number;
  dx: Float32Array;
  dy: Float32Array;
  /** Mean absolute luma difference of the best match (0–255); ∞ where it could not be searched. */
  error: Float32Array;
}

/**
 * Motion between two luma pictures of `width`×`height`, searched at half that size: for each block
 * (2·BLOCK px here) where its content was in `prev` (dx, dy in px of these pictures) and how well it matched.
 */
export function motionBetween(prev: Uint8Array, cur: Uint8Array, width: number, height: number): Motion {
  const a = halve(prev, width, height);
  const b = halve(cur, width, height);
  const half = blockMotion(a.luma, b.luma, a.width, a.height);
  for (let i = 0; i < half.dx.length; i++) {
    half.dx[i] = 2 * half.dx[i]!;
    half.dy[i] = 2 * half.dy[i]!;
  }
  return { ...half, block: 2 * BLOCK };
}

/**
 * For each block of `cur`: where its content was in `prev` (dx, dy, sub-pixel) and how well it matched
 * (mean absolute luma difference). Blocks whose search would leave the picture are not matched (error ∞).
 */
export function blockMotion(prev: Uint8Array, cur: Uint8Array, width: number, height: number): Omit<Motion, 'block'> {
  const columns = Math.ceil(width / BLOCK);
  const rows = Math.ceil(height / BLOCK);
  const dx = new Float32Array(columns * rows);
  const dy = new Float32Array(columns * rows);
  const error = new Float32Array(columns * rows).fill(Infinity);
  const side = 2 * RADIUS + 1;
  const costs = new Float64Array(side * side);
  for (let r = 0; r < rows; r++) {
    const by = Math.min(r * BLOCK, height - BLOCK);
    for (let c = 0; c < columns; c++) {
      const bx = Math.min(c * BLOCK, width - BLOCK);
      let best = -1;
      for (let sy = -RADIUS; sy <= RADIUS; sy++) {
        for (let sx = -RADIUS; sx <= RADIUS; sx++) {
          const k = (sy + RADIUS) * side + sx + RADIUS;
          if (bx + sx < 0 || by + sy < 0 || bx + sx + BLOCK > width || by + sy + BLOCK > height) {
            costs[k] = Infinity;
            continue;
          }
          costs[k] = sad(cur, prev, width, bx, by, sx, sy);
          // A shift must earn its place: a flat block (which matches anywhere) stays where it is.
          if (best < 0 || costs[k]! + SHIFT_COST * (Math.abs(sx) + Math.abs(sy)) < costs[best]! + SHIFT_COST * shiftSize(best, side))
            best = k;
        }
      }
      if (best < 0 || !Number.isFinite(costs[best]!)) continue;
      const bxs = (best % side) - RADIUS;
      const bys = Math.floor(best / side) - RADIUS;
      const at = (x: number, y: number) => costs[(y + RADIUS) * side + x + RADIUS]!;
      // Sub-pixel (unless the match is exact): the vertex of the parabola through the neighbours' costs.
      const exact = costs[best] === 0;
      const fx =
        !exact && Math.abs(bxs) < RADIUS && Number.isFinite(at(bxs - 1, bys)) && Number.isFinite(at(bxs + 1, bys))
          ? vertex(at(bxs - 1, bys), at(bxs, bys), at(bxs + 1, bys))
          : 0;
      const fy =
        !exact && Math.abs(bys) < RADIUS && Number.isFinite(at(bxs, bys - 1)) && Number.isFinite(at(bxs, bys + 1))
          ? vertex(at(bxs, bys - 1), at(bxs, bys), at(bxs, bys + 1))
          : 0;
      const i = r * columns + c;
      dx[i] = bxs + fx;
      dy[i] = bys + fy;
      // How well it matched, at the sub-pixel shift: a picture that moved by a fraction of a pixel
      // matches its interpolation, not either integer neighbour.
      const whole = costs[best]!;
      const interpolated = fx !== 0 || fy !== 0 ? subPixelSad(cur, prev, width, bx, by, bxs + fx, bys + fy) : NaN;
      error[i] = (interpolated < whole ? interpolated : whole) / (BLOCK * BLOCK);
    }
  }
  smoothMotion(prev, cur, width, height, { columns, rows, dx, dy, error });
  return { columns, rows, dx, dy, error };
}

/**
 * A block whose motion disagrees with its neighbours' (a flat or repetitive block that matched
 * somewhere else) takes their median, when that matches it as well or better.
 */
function smoothMotion(prev: Uint8Array, cur: Uint8Array, width: number, height: number, motion: Omit<Motion, 'block'>): void {
  const { columns, rows, dx, dy, error } = motion;
  const ox = Float32Array.from(dx);
  const oy = Float32Array.from(dy);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      if (error[i] === Infinity) continue;
      xs.length = 0;
      ys.length = 0;
      for (let nr = Math.max(0, r - 1); nr <= Math.min(rows - 1, r + 1); nr++) {
        for (let nc = Math.max(0, c - 1); nc <= Math.min(columns - 1, c + 1); nc++) {
          const n = nr * columns + nc;
          if (error[n] === Infinity) continue;
          xs.push(ox[n]!);
          ys.push(oy[n]!);
        }
      }
      const mx = median(xs);
      const my = median(ys);
      if (Math.abs(mx - ox[i]!) + Math.abs(my - oy[i]!) < 0.5) continue;
      const bx = Math.min(c * BLOCK, width - BLOCK);
      const by = Math.min(r * BLOCK, height - BLOCK);
      const cost = subPixelSad(cur, prev, width, bx, by, mx, my) / (BLOCK * BLOCK);
      if (cost <= error[i]! + SHIFT_COST / BLOCK) {
        dx[i] = mx;
        dy[i] = my;
        error[i] = cost;
      }
    }
  }
}

function median(values: number[]): number {
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}

function shiftSize(k: number, side: number): number {
  return Math.abs((k % side) - RADIUS) + Math.abs(Math.floor(k / side) - RADIUS);
}

/**
 * A depth map moved along the picture's motion from its own frame to another (`motion` from
 * motionBetween(its luma, the other's)): each point of the other frame takes the map's value where its
 * content was (bilinear; NaN where that is unknown: outside, or a block not searched), and how well its
 * block matched as the weight an estimate there should get (ALPHA_STILL: the same content … 1: none).
 */
export function warpAlong(
  map: Float32Array,
  width: number,
  height: number,
  motion: Motion,
  lumaWidth: number,
  lumaHeight: number,
): { predicted: Float32Array; weight: Float32Array } {
  // Per block, its weight and its shift in map pixels (the map may be another size than the picture:
  // a network's output stride).
  const sx = lumaWidth / width;
  const sy = lumaHeight / height;
  const blocks = motion.columns * motion.rows;
  const blockWeight = new Float32Array(blocks);
  const shiftX = new Float32Array(blocks);
  const shiftY = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const error = motion.error[b]!;
    blockWeight[b] =
      error === Infinity
        ? NaN
        : error <= MATCH_GOOD
          ? ALPHA_STILL
          : error >= MATCH_BAD
            ? 1
            : ALPHA_STILL + ((1 - ALPHA_STILL) * (error - MATCH_GOOD)) / (MATCH_BAD - MATCH_GOOD);
    shiftX[b] = motion.dx[b]! / sx;
    shiftY[b] = motion.dy[b]! / sy;
  }
  const blockOfColumn = new Int32Array(width);
  for (let x = 0; x < width; x++) blockOfColumn[x] = Math.min(motion.columns - 1, Math.floor(((x + 0.5) * sx) / motion.block));
  const predicted = new Float32Array(width * height);
  const weight = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = Math.min(motion.rows - 1, Math.floor(((y + 0.5) * sy) / motion.block)) * motion.columns;
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const b = row + blockOfColumn[x]!;
      const w = blockWeight[b]!;
      const px = x + shiftX[b]!;
      const py = y + shiftY[b]!;
      weight[i] = w;
      if (Number.isNaN(w) || px < 0 || py < 0 || px > width - 1 || py > height - 1) {
        predicted[i] = NaN;
        continue;
      }
      const x0 = px | 0;
      const y0 = py | 0;
      const x1 = x0 + 1 < width ? x0 + 1 : x0;
      const y1 = y0 + 1 < height ? y0 + 1 : y0;
      const tx = px - x0;
      const ty = py - y0;
      const top = map[y0 * width + x0]! + tx * (map[y0 * width + x1]! - map[y0 * width + x0]!);
      const bottom = map[y1 * width + x0]! + tx * (map[y1 * width + x1]! - map[y1 * width + x0]!);
      predicted[i] = top + ty * (bottom - top);
    }
  }
  return { predicted, weight };
}

/**
 * One step of the filter: `estimate` (0…1, the network's output size) and its frame's `luma` (the
 * network's input size) after `previous` (null, or another size: starts afresh).
 */
export function stabilise(
  previous: FilterState | null,
  estimate: Float32Array,
  width: number,
  height: number,
  luma: Uint8Array,
  lumaWidth: number,
  lumaHeight: number,
): FilterState {
  if (
    !previous ||
    previous.width !== width ||
    previous.height !== height ||
    previous.lumaWidth !== lumaWidth ||
    previous.lumaHeight !== lumaHeight
  ) {
    return { width, height, map: Float32Array.from(estimate), luma, lumaWidth, lumaHeight };
  }
  const { predicted, weight } = warpAlong(
    previous.map,
    width,
    height,
    motionBetween(previous.luma, luma, lumaWidth, lumaHeight),
    lumaWidth,
    lumaHeight,
  );
  const map = new Float32Array(estimate.length);
  for (let i = 0; i < map.length; i++) {
    const now = estimate[i]!;
    const p = predicted[i]!;
    if (Number.isNaN(p)) {
      map[i] = now;
      continue;
    }
    const change = now > p ? now - p : p - now;
    const real = change / REAL_CHANGE;
    const matched = weight[i]!;
    const alpha = real > matched ? (real < 1 ? real : 1) : matched;
    map[i] = p + alpha * (now - p);
  }
  return { width, height, map, luma, lumaWidth, lumaHeight };
}

/** A depth map with the luma of the frame it belongs to. */
export interface Anchored {
  map: Float32Array;
  width: number;
  height: number;
  luma: Uint8Array;
  lumaWidth: number;
  lumaHeight: number;
}

/**
 * Depth for a frame between two estimates (`f` of the way from `before` to `after`; `after` null at
 * the end of a chunk), motion-compensated: each estimate moved along the motion to this frame, then
 * blended by time; where one side did not match (new or hidden content) the other alone; where
 * neither did, the two blended in place. `luma`: this frame's at the network's input size.
 */
export function carryBetween(before: Anchored, after: Anchored | null, f: number, luma: Uint8Array): Float32Array {
  const { width, height, lumaWidth, lumaHeight } = before;
  const from = warpAlong(before.map, width, height, motionBetween(before.luma, luma, lumaWidth, lumaHeight), lumaWidth, lumaHeight);
  const to = after
    ? warpAlong(after.map, width, height, motionBetween(after.luma, luma, lumaWidth, lumaHeight), lumaWidth, lumaHeight)
    : null;
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) {
    const a = from.predicted[i]!;
    const usableA = !Number.isNaN(a) && from.weight[i]! < 1;
    if (!to) {
      out[i] = usableA ? a : before.map[i]!;
      continue;
    }
    const b = to.predicted[i]!;
    const usableB = !Number.isNaN(b) && to.weight[i]! < 1;
    out[i] = usableA && usableB ? a + f * (b - a) : usableA ? a : usableB ? b : before.map[i]! + f * (after!.map[i]! - before.map[i]!);
  }
  return out;
}
