/**
 * Reads the stereo effect back off decoded output: block matching between the two eyes of a
 * side-by-side gray frame. The left eye samples the source at x − d and the right one at x + d, so
 * a textured block at x in the left eye sits at x − 2d in the right one; d is half that shift.
 */

const BLOCK = 16;
const RANGE = 14;
/** Blocks flatter than this (mean absolute deviation of luma) match anywhere: skipped. */
const MIN_TEXTURE = 6;

/** Mean disparity d (px) over the textured blocks of one SBS frame `width` (both eyes) wide; NaN when none. */
export function meanDisparity(frame: Uint8Array, width: number, height: number): number {
  const eye = width >> 1;
  let sum = 0;
  let n = 0;
  for (let by = 0; by + BLOCK <= height; by += BLOCK) {
    for (let bx = RANGE + 2; bx + BLOCK + RANGE + 2 <= eye; bx += BLOCK) {
      if (texture(frame, width, bx, by) < MIN_TEXTURE) continue;
      const costs: number[] = [];
      for (let s = -RANGE; s <= RANGE; s++) costs.push(sad(frame, width, bx, by, eye + bx + s));
      let best = 0;
      for (let i = 1; i < costs.length; i++) if (costs[i]! < costs[best]!) best = i;
      if (best === 0 || best === costs.length - 1) continue; // at the edge of the search: not trusted
      // Sub-pixel: the vertex of the parabola through the minimum and its neighbours.
      const [a, b, c] = [costs[best - 1]!, costs[best]!, costs[best + 1]!];
      const denominator = a - 2 * b + c;
      const shift = best - RANGE + (denominator > 0 ? (a - c) / (2 * denominator) : 0);
      sum += -shift / 2;
      n++;
    }
  }
  return n > 0 ? sum / n : NaN;
}

function texture(frame: Uint8Array, width: number, bx: number, by: number): number {
  let mean = 0;
  for (let y = 0; y < BLOCK; y++) for (let x = 0; x < BLOCK; x++) mean += frame[(by + y) * width + bx + x]!;
  mean /= BLOCK * BLOCK;
  let dev = 0;
  for (let y = 0; y < BLOCK; y++) for (let x = 0; x < BLOCK; x++) dev += Math.abs(frame[(by + y) * width + bx + x]! - mean);
  return dev / (BLOCK * BLOCK);
}

function sad(frame: Uint8Array, width: number, lx: number, by: number, rx: number): number {
  let total = 0;
  for (let y = 0; y < BLOCK; y++) {
    const row = (by + y) * width;
    for (let x = 0; x < BLOCK; x++) total += Math.abs(frame[row + lx + x]! - frame[row + rx + x]!);
  }
  return total;
}
