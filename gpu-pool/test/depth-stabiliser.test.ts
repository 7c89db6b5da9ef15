/** The temporal filter against depth flicker: motion found, wobble damped, real change and new content let through. */
import t from 'tap';
import { MATCH_GOOD, lumaOf, motionBetween, stabilise } from '../depth-stabiliser.ts';

const W = 128;
const H = 96;

/** A smooth random texture (sums of sines), rgb24, seen through a window moved by (ox, oy) px. */
function picture(ox: number, oy: number): Uint8Array {
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const u = x + ox;
      const v = y + oy;
      const value = 128 + 50 * Math.sin(u * 0.31 + v * 0.07) + 40 * Math.sin(v * 0.23 - u * 0.11) + 25 * Math.sin((u + v) * 0.53);
      out.fill(Math.max(0, Math.min(255, Math.round(value))), (y * W + x) * 3, (y * W + x) * 3 + 3);
    }
  }
  return out;
}

/** A depth map of the same scene: nearer towards the scene's right, with a near box. */
function sceneDepth(ox: number, oy: number, wobble = 0, seed = 1): Float32Array {
  let s = seed;
  const noise = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 2 * wobble;
  return Float32Array.from({ length: W * H }, (_, i) => {
    const x = (i % W) + ox;
    const y = Math.floor(i / W) + oy;
    const box = x > 50 && x < 80 && y > 30 && y < 60 ? 0.3 : 0;
    return Math.min(1, Math.max(0, 0.2 + x / 400 + box + noise()));
  });
}

t.test('motion: the shift between two frames is found to a fraction of a pixel', async (t) => {
  const a = lumaOf(picture(0, 0), W, H);
  const b = lumaOf(picture(2, -1), W, H);
  const motion = motionBetween(a, b, W, H);
  // Inner blocks (the search does not leave the picture): the content at x in b was at x + 2 in a.
  const inner: Array<[number, number, number]> = [];
  for (let r = 1; r < motion.rows - 1; r++)
    for (let c = 1; c < motion.columns - 1; c++) {
      const i = r * motion.columns + c;
      inner.push([motion.dx[i]!, motion.dy[i]!, motion.error[i]!]);
    }
  const worst = Math.max(...inner.map(([dx, dy]) => Math.max(Math.abs(dx - 2), Math.abs(dy + 1))));
  t.ok(worst < 0.5, `every inner block's shift within ${worst.toFixed(2)} px of (2, −1)`);
  t.ok(
    inner.every(([, , e]) => e <= MATCH_GOOD),
    `and matched well (worst ${Math.max(...inner.map(([, , e]) => e)).toFixed(1)} of 255)`,
  );
  const still = motionBetween(a, a, W, H);
  t.ok(
    Array.from(still.dx).every((d) => d === 0) && Array.from(still.error).every((e) => e === 0),
    'a still frame: no motion, perfect matches',
  );
});

t.test("stabilise: a still scene's wobble is damped, a real change of depth passes at once", async (t) => {
  const luma = lumaOf(picture(0, 0), W, H);
  let state = stabilise(null, sceneDepth(0, 0, 0.03, 1), W, H, luma, W, H);
  let rawStep = 0;
  let filteredStep = 0;
  let previousRaw = sceneDepth(0, 0, 0.03, 1);
  for (let k = 2; k < 30; k++) {
    const raw = sceneDepth(0, 0, 0.03, k);
    const before = state.map;
    state = stabilise(state, raw, W, H, luma, W, H);
    if (k > 10) {
      for (let i = 0; i < raw.length; i++) {
        rawStep += Math.abs(raw[i]! - previousRaw[i]!);
        filteredStep += Math.abs(state.map[i]! - before[i]!);
      }
    }
    previousRaw = raw;
  }
  t.ok(filteredStep < rawStep * 0.3, `frame-to-frame change ${((filteredStep / rawStep) * 100).toFixed(0)} % of the raw estimates'`);
  // Something comes 0.5 nearer: no lag.
  const nearer = Float32Array.from(sceneDepth(0, 0), (v) => Math.min(1, v + 0.5));
  const after = stabilise(state, nearer, W, H, luma, W, H);
  const lag = Math.max(...Array.from(after.map, (v, i) => Math.abs(v - nearer[i]!)));
  t.ok(lag < 1e-6, `a real change is taken as it is (off by ${lag.toExponential(1)})`);
});

t.test('stabilise: moving pictures are filtered along their motion; new content is not blended', async (t) => {
  // The camera pans 1 px a frame; the depth moves with the scene. A filter that ignored motion would
  // smear the box's edges over the pan.
  let state = stabilise(null, sceneDepth(0, 0), W, H, lumaOf(picture(0, 0), W, H), W, H);
  for (let k = 1; k <= 8; k++) state = stabilise(state, sceneDepth(k, 0), W, H, lumaOf(picture(k, 0), W, H), W, H);
  const truth = sceneDepth(8, 0);
  let error = 0;
  let counted = 0;
  for (let y = 8; y < H - 8; y++)
    for (let x = 8; x < W - 8; x++) {
      error += Math.abs(state.map[y * W + x]! - truth[y * W + x]!);
      counted++;
    }
  t.ok(error / counted < 0.01, `after an 8-px pan the filtered map is where the scene is (mean error ${(error / counted).toFixed(4)})`);
  // A different picture altogether (not a scene cut by thumbnail, just no match anywhere): the estimate as it is.
  const other = new Uint8Array(W * H * 3).map((_, i) => (i * 97) % 251);
  const fresh = Float32Array.from({ length: W * H }, (_, i) => (i % 7) / 7);
  const next = stabilise(state, fresh, W, H, lumaOf(other, W, H), W, H);
  const kept = Math.max(...Array.from(next.map, (v, i) => Math.abs(v - fresh[i]!)));
  t.ok(kept < 1e-6, 'unmatched content takes the new estimate');
  // Another size (a new stream format): starts afresh.
  const small = stabilise(state, new Float32Array(64 * 48).fill(0.5), 64, 48, new Uint8Array(64 * 48), 64, 48);
  t.same([small.width, small.height, small.map[0]], [64, 48, 0.5]);
});
