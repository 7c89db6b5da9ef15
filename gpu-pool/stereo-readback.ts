/**
 * Reads the stereo effect back off decoded output — what a viewer's eyes get, not what the pipeline
 * meant to produce: block matching between the two eyes of a side-by-side gray frame (tests and the
 * depth benchmark measure with it). The left eye samples the source at x − d and the right one at x + d, so
 * a textured block at x in the left eye sits at x − 2d in the right one; d is half that shift.
 */

const BLOCK = 16;
const RANGE = 14;
/** Blocks flatter than this (mean absolute deviation of luma) match anywhere: skipped. */
const MIN_TEXTURE = 6;

/** Mean disparity d (px) over the textured blocks of one SBS frame `width` (both eyes) wide; NaN when none. */
export function meanDisparity(frame: Uint8Array, width: number, height: number): number {
  const blocks = blockDisparities(frame, width, height);
  return blocks.length > 0 ? blocks.reduce((sum, b) => sum + b.d, 0) / blocks.length : NaN;
}

/**
 * Disparity d (px; positive = in front of the screen) of every textured block of one SBS frame, with
 * the block's centre in the left eye. Shifts up to `range` px between the eyes are searched.
 */
export function blockDisparities(
  frame: Uint8Array,
  width: number,
  height: number,
  range = RANGE,
): Array<{ x: number; y: number; d: number }> {
  const eye = width >> 1;
  const out: Array<{ x: number; y: number; d: number }> = [];
  for (let by = 0; by + BLOCK <= height; by += BLOCK) {
    for (let bx = range + 2; bx + BLOCK + range + 2 <= eye; bx += BLOCK) {
      if (texture(frame, width, bx, by) < MIN_TEXTURE) continue;
      const costs: number[] = [];
      for (let s = -range; s <= range; s++) costs.push(sad(frame, width, bx, by, eye + bx + s));
      let best = 0;
      for (let i = 1; i < costs.length; i++) if (costs[i]! < costs[best]!) best = i;
      if (best === 0 || best === costs.length - 1) continue; // at the edge of the search: not trusted
      // Sub-pixel: the vertex of the parabola through the minimum and its neighbours.
      const [a, b, c] = [costs[best - 1]!, costs[best]!, costs[best + 1]!];
      const denominator = a - 2 * b + c;
      const shift = best - range + (denominator > 0 ? (a - c) / (2 * denominator) : 0);
      out.push({ x: bx + BLOCK / 2, y: by + BLOCK / 2, d: -shift / 2 });
    }
  }
  return out;
}

/** Spearman's rank correlation of two equally long lists (ties get their mean rank). */
export function spearman(a: number[], b: number[]): number {
  const ranks = (values: number[]) => {
    const order = values.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(values.length);
    for (let i = 0; i < order.length; ) {
      let j = i;
      while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
      for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (ra.length - 1) / 2;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i]! - mean) * (rb[i]! - mean);
    da += (ra[i]! - mean) ** 2;
    db += (rb[i]! - mean) ** 2;
  }
  return num / Math.sqrt(da * db);
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
